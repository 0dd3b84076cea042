"""Local users and their roles (the records database, argon2id password hashes).

What each role may do is decided here and checked by the server on every
request: hiding a tab in the page is convenience, not security.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.records.database import Database, users

MIN_PASSWORD_CHARS = 8
_VERIFYING = threading.BoundedSemaphore(2)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class Role(StrEnum):
    OPERATOR = "operator"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Permission(StrEnum):
    ASK = "ask"  # ask questions, open cited pages, give feedback
    SEARCH = "search"  # the Search tab: retrieval only, downloads of originals
    ADMIN = "admin"  # upload, ingest, remove documents; status; audit log


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset({Permission.ASK}),
    Role.TECHNICIAN: frozenset({Permission.ASK, Permission.SEARCH}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    # the directory groups holding a directory user, nested ones included (normalised DNs,
    # app.records.directory.dn_key): what document collections are granted to
    groups: frozenset[str] = frozenset()

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


# The user of single-user mode (a laptop, bound to loopback): everything, no login.
LOCAL_USER = User("local", Role.ADMIN)


class UserError(ValueError):
    """A user-management request that cannot be done; the message says why."""


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._hasher = PasswordHasher()
        self._dummy: str | None = None

    def add(self, name: str, role: Role, password: str) -> User:
        name = _checked_name(name)
        _check_password(password)
        try:
            with self._db.begin() as db:
                db.execute(insert(users).values(name=name, role=role.value,
                                                password_hash=self._hasher.hash(password),
                                                created_at=time.time()))
        except IntegrityError:
            raise UserError(f"user {name!r} already exists; use `plantops users passwd` to "
                            "change the password or `remove` it first") from None
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        with self._db.begin() as db:
            changed = db.execute(update(users).where(users.c.name == name).values(
                password_hash=self._hasher.hash(password))).rowcount
        if not changed:
            raise UserError(f"no user {name!r}; `plantops users list` shows who exists")

    def remove(self, name: str) -> None:
        with self._db.begin() as db:
            if not db.execute(delete(users).where(users.c.name == name)).rowcount:
                raise UserError(f"no user {name!r}; `plantops users list` shows who exists")

    def get(self, name: str) -> User | None:
        with self._db.begin() as db:
            row = db.execute(select(users.c.name, users.c.role)
                             .where(users.c.name == name)).first()
        return User(row[0], Role(row[1])) if row else None

    def list(self) -> list[tuple[User, float]]:
        with self._db.begin() as db:
            rows = db.execute(select(users.c.name, users.c.role, users.c.created_at)
                              .order_by(users.c.name)).all()
        return [(User(n, Role(r)), created) for n, r, created in rows]

    def count(self) -> int:
        with self._db.begin() as db:
            return int(db.execute(select(func.count()).select_from(users)).scalar() or 0)

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same answer for an unknown name)."""
        with self._db.begin() as db:
            row = db.execute(select(users.c.role, users.c.password_hash)
                             .where(users.c.name == name)).first()
        with _VERIFYING:  # each verification holds 64 MB: a flood queues, memory stays flat
            try:
                # An unknown name costs the same hash as a known one, so the time taken does
                # not tell which names exist.
                self._hasher.verify(row[1] if row else self._dummy_hash(), password)
            except (VerificationError, InvalidHashError):
                return None
        return User(name, Role(row[0])) if row else None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_hex(16))
        return self._dummy


def _checked_name(name: str) -> str:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise UserError(f"invalid user name {name!r}: use 1-64 of a-z, 0-9, '.', '_', '-'")
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"password too short: at least {MIN_PASSWORD_CHARS} characters")
