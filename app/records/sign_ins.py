"""Failed sign-ins, counted in the records database.

Kept in each UI process, the counts gave a guesser behind a load balancer the free tries of
every replica (a script that drops HAProxy's cookie is spread over all of them), and a replica
that restarted forgot its lock-outs. Each failure is one atomic upsert, so two replicas counting
the same name at once lose no count.
"""

from __future__ import annotations

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.records.database import Database, sign_in_failures


class SharedFailures:
    """key -> (failures, time of the last), on the database every replica shares."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = (postgresql.insert if db.backend == "postgresql" else sqlite.insert)
        self._adds = 0

    def get(self, key: str) -> tuple[int, float] | None:
        with self._db.begin() as db:
            row = db.execute(select(sign_in_failures.c.count, sign_in_failures.c.last)
                             .where(sign_in_failures.c.key == key)).first()
        return (int(row[0]), float(row[1])) if row else None

    def add(self, key: str, now: float, forget_after_s: float) -> None:
        """One more failure; a count quiet for ``forget_after_s`` starts again at one."""
        table = sign_in_failures
        new = self._insert(table).values(key=key, count=1, last=now)
        with self._db.begin() as db:
            db.execute(new.on_conflict_do_update(index_elements=[table.c.key], set_={
                "count": case((new.excluded.last - table.c.last > forget_after_s, 1),
                              else_=table.c.count + 1),
                "last": new.excluded.last}))
            self._adds += 1
            if self._adds % 256 == 0:  # a spray of made-up names: counts long forgiven go
                db.execute(delete(table).where(table.c.last < now - forget_after_s))

    def clear(self, key: str) -> None:
        with self._db.begin() as db:
            db.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))
