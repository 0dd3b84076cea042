"""Files a handler hands to one user: an unguessable, expiring link per grant, fetched
through ``/plantops/file/<token>`` after the role is checked again (by ``guard.Guard``)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.records.users import Permission, User

FILE_ROUTE = "/plantops/file/"
Clock = Callable[[], float]


@dataclass(frozen=True)
class Grant:
    user: str
    permission: Permission
    path: Path
    download_name: str
    expires_at: float
    one_time: bool  # fetched once, then the grant and the file are gone (exports)


class FileGrants:
    """Unguessable, per-user, expiring links to files a handler decided a user may have."""

    def __init__(self, ttl_s: float = 600.0, clock: Clock = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def grant(self, user: User, permission: Permission, path: Path, download_name: str,
              one_time: bool = False) -> str:
        """The URL (a path on this server) through which ``user`` alone fetches ``path``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_expired()
            self._grants[token] = Grant(user.name, permission, path, download_name,
                                        self._clock() + self._ttl_s, one_time)
        return FILE_ROUTE + token

    def claim(self, token: str, user: User) -> Grant | None:
        """The live grant of ``token`` if it is ``user``'s, removed when it is for one fetch;
        None when there is none. Raises PermissionError when it is another user's (and
        leaves it for them)."""
        with self._lock:
            self._forget_expired()
            grant = self._grants.get(token)
            if grant is None:
                return None
            if grant.user != user.name or not user.may(grant.permission):
                raise PermissionError(token)
            if grant.one_time:
                del self._grants[token]
            return grant

    def _forget_expired(self) -> None:
        now = self._clock()
        for token in [t for t, g in self._grants.items() if g.expires_at < now]:
            grant = self._grants.pop(token)
            if grant.one_time:
                grant.path.unlink(missing_ok=True)
