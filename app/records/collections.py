"""Document collections: need to know, decided on the server for every request.

An admin puts files into named collections (`plantops ingest --collection NAME`, or per file
in the Documents tab); the settings say which roles and directory groups may read each one.
A file in no collection is read by every signed-in user; admins read everything (they load
and remove the documents). A collection no setting defines any more is read by admins only:
a typo or a removed setting closes a door, it never opens one.

Which file is in which collection is kept in the records database, read at each request, so
that an admin's change reaches every replica's next answer. What a reader may not read is
handed to retrieval as the set of their *hidden files* (``ingest.search.CandidateSearch``
leaves them out inside each search, before the best k are taken).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from app.records.database import Database, document_collections
from app.records.directory import dn_key
from app.records.users import Role, User


class CollectionError(ValueError):
    """An assignment that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Readers:
    """Who may read one collection: every user of ``roles``, and members of ``groups``."""

    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()  # normalised DNs (dn_key)

    @classmethod
    def of(cls, roles: Iterable[str], groups: Iterable[str]) -> Readers:
        return cls(frozenset(roles), frozenset(dn_key(g) for g in groups))

    def admit(self, user: User) -> bool:
        return user.role in self.roles or bool(self.groups & user.groups)


class Collections:
    def __init__(self, db: Database, readers: Mapping[str, Readers]) -> None:
        self._db = db
        self.readers = dict(readers)

    def assign(self, files: Iterable[str], collection: str | None, by: str) -> int:
        """Put ``files`` into ``collection`` (None or "": into none, readable by all signed-in
        users); how many files changed. A collection the settings do not define is refused,
        so that a typo cannot hide a document from everyone but admins."""
        files = list(dict.fromkeys(f for f in files if f))
        if collection and collection not in self.readers:
            defined = ", ".join(sorted(self.readers)) or "none yet"
            raise CollectionError(
                f"no collection {collection!r} is defined (defined: {defined}); add "
                f"[collections.{collection}] with its roles or groups to the settings first "
                "(docs/admin.md)")
        current = self.assignments()
        changed = [f for f in files if current.get(f) != (collection or None)]
        if not changed:
            return 0
        with self._db.begin() as db:
            db.execute(delete(document_collections)
                       .where(document_collections.c.file.in_(changed)))
            if collection:
                now = time.time()
                db.execute(insert(document_collections), [
                    {"file": f, "collection": collection, "assigned_by": by,
                     "assigned_at": now} for f in changed])
        return len(changed)

    def assignments(self) -> dict[str, str]:
        """file -> collection, for every file in one."""
        with self._db.begin() as db:
            rows = db.execute(select(document_collections.c.file,
                                     document_collections.c.collection)).all()
        return {str(f): str(c) for f, c in rows}

    def readable(self, user: User) -> set[str]:
        """The collections ``user`` may read."""
        if user.role == Role.ADMIN:
            return set(self.readers) | set(self.assignments().values())
        return {name for name, readers in self.readers.items() if readers.admit(user)}

    def hidden_from(self, user: User) -> frozenset[str]:
        """The files ``user`` may not read: those in a collection that is not theirs."""
        if user.role == Role.ADMIN:
            return frozenset()
        allowed = self.readable(user)
        return frozenset(f for f, c in self.assignments().items() if c not in allowed)
