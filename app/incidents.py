"""Each user's incidents (conversations), kept on the server in SQLite.

An operator mid-incident reloads the page, changes shift or comes back after a night: the
conversation, its sources and its quotes must still be there, and only for them. Every query
names the owner, so one user's incident id opens nothing for another user.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.database import open_database

TITLE_CHARS = 80


@dataclass(frozen=True)
class IncidentSummary:
    id: int
    title: str
    updated: float  # epoch seconds

    @property
    def label(self) -> str:
        return f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(self.updated))} · {self.title}"


def title_from(question: str) -> str:
    """An incident is named by its first question until its user renames it."""
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


class IncidentStore:
    """Conversations by owner: ``save`` creates or updates, the rest find only the owner's."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS incidents (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL,"
            " updated REAL NOT NULL, conversation TEXT NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS incidents_by_user"
                         " ON incidents (user, updated)")

    def save(self, user: str, incident: int | None, title: str,
             conversation: dict[str, Any]) -> int:
        """Store ``conversation`` as ``incident`` of ``user`` (a new one when None or not
        theirs); returns its id."""
        body, now = json.dumps(conversation), time.time()
        if incident is not None:
            updated = self._db.execute(
                "UPDATE incidents SET conversation = ?, updated = ? WHERE id = ? AND user = ?",
                (body, now, incident, user)).rowcount
            if updated:
                return incident
        cursor = self._db.execute(
            "INSERT INTO incidents (user, title, created, updated, conversation)"
            " VALUES (?,?,?,?,?)", (user, title_from(title) or "Incident", now, now, body))
        return int(cursor.lastrowid or 0)

    def list(self, user: str, limit: int = 200) -> list[IncidentSummary]:
        """The user's incidents, the latest first."""
        rows = self._db.execute("SELECT id, title, updated FROM incidents WHERE user = ?"
                                " ORDER BY updated DESC, id DESC LIMIT ?", (user, limit))
        return [IncidentSummary(*row) for row in rows]

    def load(self, user: str, incident: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT conversation FROM incidents WHERE id = ? AND user = ?",
                               (incident, user)).fetchone()
        return json.loads(row[0]) if row else None

    def rename(self, user: str, incident: int, title: str) -> bool:
        title = title_from(title)
        if not title:
            return False
        return bool(self._db.execute("UPDATE incidents SET title = ? WHERE id = ? AND user = ?",
                                     (title, incident, user)).rowcount)

    def delete(self, user: str, incident: int) -> bool:
        return bool(self._db.execute("DELETE FROM incidents WHERE id = ? AND user = ?",
                                     (incident, user)).rowcount)
