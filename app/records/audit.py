"""The audit log: what the assistant told whom, from which sources (the records database).

It is how a plant reviews an incident afterwards, so every answer is written
once it ends (complete, abstained, incomplete or model down), and feedback is
attached to the same row.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import func, insert, select, update

from app.records.database import Database, audit

WITHHELD = "(not kept: audit.keep_question_text is off)"
# The flag an answer's row carries for each source whose safety notice it pinned.
SAFETY_FLAG = "safety notice"

COLUMNS = ("id", "time_utc", "user", "role", "action", "question", "retrieved", "cited",
           "answer", "status", "flags", "model", "first_token_s", "total_s", "feedback",
           "comment", "address", "account")


@dataclass(frozen=True)
class AuditEntry:
    user: str
    role: str
    action: str  # ask | search | history | upload | ingest | remove | collection | sign-in
    question: str = ""
    retrieved: list[str] = field(default_factory=list)  # citation labels, best first
    cited: list[str] = field(default_factory=list)  # labels the answer referred to
    answer: str = ""
    status: str = ""
    model: str = ""
    first_token_s: float | None = None
    total_s: float | None = None
    flags: list[str] = field(default_factory=list)  # weak evidence, claims the sources lack
    address: str | None = None  # sign-ins: the client's address
    account: str | None = None  # sign-ins: local | directory


class AuditLog:
    """``keep_text=False`` (audit.keep_question_text): who asked, when, and which sources
    were shown are kept; the question, search query and answer text are not (a works
    council's condition at some sites)."""

    def __init__(self, db: Database, keep_text: bool = True) -> None:
        self._db = db
        self._keep_text = keep_text

    def record(self, entry: AuditEntry) -> int:
        question, answer = ((entry.question, entry.answer) if self._keep_text else
                            (WITHHELD if entry.question else "", WITHHELD if entry.answer else ""))
        with self._db.begin() as db:
            created = db.execute(insert(audit).values(
                time=time.time(), user=entry.user, role=entry.role, action=entry.action,
                question=question, retrieved=json.dumps(entry.retrieved),
                cited=json.dumps(entry.cited), answer=answer, status=entry.status,
                flags=json.dumps(entry.flags), model=entry.model,
                first_token_s=entry.first_token_s, total_s=entry.total_s,
                address=entry.address, account=entry.account,
            ).returning(audit.c.id))
            return int(created.scalar_one())

    def set_feedback(self, entry_id: int, user: str, rating: str | None,
                     comment: str | None = None) -> bool:
        """Attach 'up'/'down' and/or a comment to one of `user`'s own answers."""
        with self._db.begin() as db:
            return bool(db.execute(update(audit).where(
                audit.c.id == entry_id, audit.c.user == user).values(
                feedback=func.coalesce(rating, audit.c.feedback),
                comment=func.coalesce(comment, audit.c.comment))).rowcount)

    def rows(self, limit: int | None = None, user: str | None = None,
             since: float | None = None, before: float | None = None
             ) -> list[dict[str, object]]:
        """Newest first, as plain values (lists as '; '-joined labels); optionally of one
        user (any case) and within [since, before) (epoch seconds)."""
        query = select(*(audit.c[c] for c in ("id", "time", *COLUMNS[2:]))
                       ).order_by(audit.c.id.desc())
        if user is not None:
            query = query.where(func.lower(audit.c.user) == user.lower())
        if since is not None:
            query = query.where(audit.c.time >= since)
        if before is not None:
            query = query.where(audit.c.time < before)
        if limit is not None:
            query = query.limit(limit)
        with self._db.begin() as db:
            found = db.execute(query).all()
        out = []
        for row in found:
            values = dict(zip(COLUMNS, row, strict=True))
            values["time_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row[1]))
            for key in ("retrieved", "cited", "flags"):
                values[key] = "; ".join(json.loads(str(values[key] or "[]") or "[]"))
            out.append(values)
        return out

    def count(self) -> int:
        with self._db.begin() as db:
            return int(db.execute(select(func.count()).select_from(audit)).scalar() or 0)

    def export_csv(self, out: TextIO) -> int:
        """Write the whole log as CSV (oldest first); returns the number of rows."""
        rows = list(reversed(self.rows()))
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(defused(r) for r in rows)
        return len(rows)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# What a spreadsheet skips before a formula: spaces and line breaks of every kind, and the
# invisible ones (no-break and zero-width spaces, BOM, vertical tab, form feed).
_LEADING = " \t\r\n\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
    "\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"


def defused(row: dict[str, object]) -> dict[str, object]:
    """Spreadsheet formula injection (OWASP's list): a cell starting with = + - @ (or their
    full-width forms), a tab or a carriage return, also after leading spaces, line breaks or
    invisible characters, is prefixed with ' and so read as text. Questions and search
    queries are typed by anyone who can sign in."""
    return {k: ("'" + v if isinstance(v, str) and (
        v.startswith(_FORMULA_STARTS) or v.lstrip(_LEADING).startswith(_FORMULA_STARTS))
        else v) for k, v in row.items()}
