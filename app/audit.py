"""The audit log: what the assistant told whom, from which sources (SQLite).

It is how a plant reviews an incident afterwards, so every answer is written
once it ends (complete, abstained, incomplete or model down), and feedback is
attached to the same row.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.database import open_database

COLUMNS = ("id", "time_utc", "user", "role", "action", "question", "retrieved", "cited",
           "answer", "status", "flags", "model", "first_token_s", "total_s", "feedback",
           "comment")


@dataclass(frozen=True)
class AuditEntry:
    user: str
    role: str
    action: str  # ask | search | upload | ingest | remove
    question: str = ""
    retrieved: list[str] = field(default_factory=list)  # citation labels, best first
    cited: list[str] = field(default_factory=list)  # labels the answer referred to
    answer: str = ""
    status: str = ""
    model: str = ""
    first_token_s: float | None = None
    total_s: float | None = None
    flags: list[str] = field(default_factory=list)  # weak evidence, claims the sources lack


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._db = open_database(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " time REAL NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,"
            " question TEXT, retrieved TEXT, cited TEXT, answer TEXT, status TEXT, model TEXT,"
            " first_token_s REAL, total_s REAL, feedback TEXT, comment TEXT,"
            " flags TEXT NOT NULL DEFAULT '[]')")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(audit)")}
        if "flags" not in columns:  # a log from before answers were checked
            self._db.execute("ALTER TABLE audit ADD COLUMN flags TEXT NOT NULL DEFAULT '[]'")

    def record(self, entry: AuditEntry) -> int:
        cursor = self._db.execute(
            "INSERT INTO audit (time, user, role, action, question, retrieved, cited, answer,"
            " status, flags, model, first_token_s, total_s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (time.time(), entry.user, entry.role, entry.action, entry.question,
             json.dumps(entry.retrieved), json.dumps(entry.cited), entry.answer, entry.status,
             json.dumps(entry.flags), entry.model, entry.first_token_s, entry.total_s))
        return int(cursor.lastrowid or 0)

    def set_feedback(self, entry_id: int, user: str, rating: str | None,
                     comment: str | None = None) -> bool:
        """Attach 'up'/'down' and/or a comment to one of `user`'s own answers."""
        updated = self._db.execute(
            "UPDATE audit SET feedback = coalesce(?, feedback), comment = coalesce(?, comment)"
            " WHERE id = ? AND user = ?", (rating, comment, entry_id, user)).rowcount
        return bool(updated)

    def rows(self, limit: int | None = None, user: str | None = None,
             since: float | None = None, before: float | None = None
             ) -> list[dict[str, object]]:
        """Newest first, as plain values (lists as '; '-joined labels); optionally of one
        user (any case) and within [since, before) (epoch seconds)."""
        clauses, args = [], []  # type: ignore[var-annotated]
        for clause, value in (("user = ? COLLATE NOCASE", user), ("time >= ?", since),
                              ("time < ?", before)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        sql = ("SELECT id, time, user, role, action, question, retrieved, cited, answer, status,"
               " flags, model, first_token_s, total_s, feedback, comment FROM audit"
               + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id DESC")
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        out = []
        for row in self._db.execute(sql, args):
            values = dict(zip(COLUMNS, row, strict=True))
            values["time_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row[1]))
            for key in ("retrieved", "cited", "flags"):
                values[key] = "; ".join(json.loads(str(values[key]) or "[]"))
            out.append(values)
        return out

    def export_csv(self, out: TextIO) -> int:
        """Write the whole log as CSV (oldest first); returns the number of rows."""
        rows = list(reversed(self.rows()))
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(_defuse(r) for r in rows)
        return len(rows)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(row: dict[str, object]) -> dict[str, object]:
    """Spreadsheet formula injection (OWASP's list): a cell starting with = + - @, a tab or a
    carriage return, also after leading spaces or line breaks, is prefixed with ' and so
    read as text. Questions and search queries are typed by anyone who can sign in."""
    return {k: ("'" + v if isinstance(v, str) and (
        v.startswith(_FORMULA_STARTS) or v.lstrip(" \t\r\n").startswith(_FORMULA_STARTS))
        else v) for k, v in row.items()}
