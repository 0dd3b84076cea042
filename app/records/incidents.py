"""Each user's incidents (conversations), kept on the server in the records database.

An operator mid-incident reloads the page, changes shift or comes back after a night: the
conversation, its sources and its quotes must still be there, and only for them. Every query
names the owner, so one user's incident id opens nothing for another user.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from app.records.database import Database, incidents

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

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, user: str, incident: int | None, title: str,
             conversation: dict[str, Any]) -> int:
        """Store ``conversation`` as ``incident`` of ``user`` (a new one when None or not
        theirs); returns its id."""
        body, now = json.dumps(conversation), time.time()
        with self._db.begin() as db:
            if incident is not None:
                updated = db.execute(update(incidents).where(
                    incidents.c.id == incident, incidents.c.user == user).values(
                    conversation=body, updated=now)).rowcount
                if updated:
                    return incident
            name = title_from(title) or "Incident"
            taken = set(db.execute(select(incidents.c.title).where(
                incidents.c.user == user, incidents.c.title.like(f"{name[:60]}%"))).scalars())
            # the same first question twice (a fault that came back): two names, not one
            name = next(f"{name} ({n})" if n > 1 else name for n in range(1, len(taken) + 2)
                        if (f"{name} ({n})" if n > 1 else name) not in taken)
            created = db.execute(insert(incidents).values(
                user=user, title=name, created=now, updated=now,
                conversation=body).returning(incidents.c.id))
            return int(created.scalar_one())

    def list(self, user: str, limit: int = 200) -> list[IncidentSummary]:
        """The user's incidents, the latest first."""
        with self._db.begin() as db:
            rows = db.execute(select(incidents.c.id, incidents.c.title, incidents.c.updated)
                              .where(incidents.c.user == user)
                              .order_by(incidents.c.updated.desc(), incidents.c.id.desc())
                              .limit(limit)).all()
        return [IncidentSummary(*row) for row in rows]

    def load(self, user: str, incident: int) -> dict[str, Any] | None:
        with self._db.begin() as db:
            body = db.execute(select(incidents.c.conversation).where(
                incidents.c.id == incident, incidents.c.user == user)).scalar()
        return json.loads(body) if body is not None else None

    def rename(self, user: str, incident: int, title: str) -> bool:
        title = title_from(title)
        if not title:
            return False
        with self._db.begin() as db:
            return bool(db.execute(update(incidents).where(
                incidents.c.id == incident, incidents.c.user == user).values(
                title=title)).rowcount)

    def delete(self, user: str, incident: int) -> bool:
        with self._db.begin() as db:
            return bool(db.execute(delete(incidents).where(
                incidents.c.id == incident, incidents.c.user == user)).rowcount)

    def active_between(self, start: float, end: float) -> list[tuple[int, str, str, float]]:
        """Every user's incidents opened before ``end`` and written to since ``start``:
        (id, user, title, created), oldest first (the shift handover)."""
        with self._db.begin() as db:
            rows = db.execute(select(incidents.c.id, incidents.c.user, incidents.c.title,
                                     incidents.c.created)
                              .where(incidents.c.updated >= start, incidents.c.created < end)
                              .order_by(incidents.c.created, incidents.c.id)).all()
        return [(int(i), str(u), str(t), float(c)) for i, u, t, c in rows]

    def count(self) -> int:
        """Every user's incidents (the failover test counts them)."""
        with self._db.begin() as db:
            return len(db.execute(select(incidents.c.id)).all())
