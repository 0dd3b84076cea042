"""Sign-in sessions in the records database, so that every UI replica knows every session: a
user whose UI process dies is carried on by another one without signing in again.

Gradio keeps its sessions in ``App.tokens`` (token -> user name) and asks it on every request;
``SharedSessions`` is that mapping on the ``sessions`` table. Only a SHA-256 of each token is
stored (a copy of the database signs no one in), and an idle session ends at the next request
after ``idle_s``, on whichever replica it arrives.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, MutableMapping

from sqlalchemy import delete, insert, select, update

from app.records.database import Database, sessions

_HASHED = "sha256:"
# A request refreshes last_seen at most this often (or a quarter of the idle time, if less):
# one write per user per half minute, not one per request (a page load makes a dozen).
_TOUCH_EVERY_S = 30.0


def _key(token: str) -> str:
    """The stored form of a token; a stored key (from iterating) stays as it is."""
    if token.startswith(_HASHED):
        return token
    return _HASHED + hashlib.sha256(token.encode("utf-8")).hexdigest()


class SharedSessions(MutableMapping[str, str]):
    """token -> user name, shared by every process on the same database."""

    def __init__(self, db: Database, idle_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._db, self._idle_s, self._clock = db, idle_s, clock

    def __getitem__(self, token: str) -> str:
        if not isinstance(token, str) or not token:  # Gradio asks with None: no cookie
            raise KeyError(token)
        with self._db.begin() as db:
            user = db.execute(select(sessions.c.user)
                              .where(sessions.c.token == _key(token))).scalar()
        if user is None:
            raise KeyError(token)
        return str(user)

    def __setitem__(self, token: str, user: str) -> None:
        now = self._clock()
        with self._db.begin() as db:
            db.execute(delete(sessions).where(sessions.c.token == _key(token)))
            db.execute(insert(sessions).values(token=_key(token), user=user, created=now,
                                               last_seen=now))

    def __delitem__(self, token: str) -> None:
        with self._db.begin() as db:
            if not db.execute(delete(sessions).where(sessions.c.token == _key(token))).rowcount:
                raise KeyError(token)

    def __iter__(self) -> Iterator[str]:
        with self._db.begin() as db:
            keys = db.execute(select(sessions.c.token)).scalars().all()
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.get(token) is not None

    def still_active(self, token: str) -> bool:
        """Records this request; False (and ends the session) when it had been idle."""
        if not token:
            return False
        now, key = self._clock(), _key(token)
        with self._db.begin() as db:
            last = db.execute(select(sessions.c.last_seen)
                              .where(sessions.c.token == key)).scalar()
            if last is None:
                return False
            if self._idle_s > 0 and now - last > self._idle_s:
                db.execute(delete(sessions).where(sessions.c.token == key))
                return False
            if now - last > min(_TOUCH_EVERY_S, self._idle_s / 4 or _TOUCH_EVERY_S):
                db.execute(update(sessions).where(sessions.c.token == key)
                           .values(last_seen=now))
        return True

    def end_user(self, user: str) -> int:
        """End every session of ``user`` (removed, or their role changed); how many."""
        with self._db.begin() as db:
            return db.execute(delete(sessions).where(sessions.c.user == user)).rowcount
