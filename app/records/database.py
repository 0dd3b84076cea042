"""The app's own database: users, sign-in sessions, the audit log, incidents and which
document collection each file is in.

One schema, two backends through SQLAlchemy Core: a SQLite file in the data dir (the embedded
default, ``records.sqlite3``) or PostgreSQL when ``database.url`` names one, so that several UI
replicas on several hosts share every row. The schema is Alembic's (``migrations/``): opening
the database upgrades it to this code's revision, and refuses one newer than the code. Files of
the releases before (``users.sqlite3``, ``audit.sqlite3``, ``incidents.sqlite3``) are imported
once, every row with its id, then renamed ``*.imported``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Float, nullable=False))

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("user", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("question", Text), Column("retrieved", Text), Column("cited", Text),
    Column("answer", Text), Column("status", Text), Column("model", Text),
    Column("first_token_s", Float), Column("total_s", Float),
    Column("feedback", Text), Column("comment", Text),
    Column("flags", Text, nullable=False, server_default="[]"),
    Column("address", String(64)),  # sign-ins: the client's address
    Column("account", String(16)),  # sign-ins: local | directory
    Index("audit_by_time", "time"))

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("conversation", Text, nullable=False),
    Index("incidents_by_user", "user", "updated"))

sessions = Table(
    "sessions", metadata,
    Column("token", String(128), primary_key=True),
    Column("user", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("last_seen", Float, nullable=False))

# Failed sign-ins, per user name and per client address ("name:anna", "address:10.0.0.7"):
# shared, so that N UI replicas behind a balancer give a guesser the free tries of one.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("key", String(320), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last", Float, nullable=False))

# Which document collection each file is in (app.records.collections): read on every request,
# so that an admin's change reaches every replica's next answer.
document_collections = Table(
    "document_collections", metadata,
    Column("file", String(1024), primary_key=True),
    Column("collection", String(64), nullable=False),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", Float, nullable=False))

# Work orders drafted from incidents (app.records.work_orders): an operator drafts, a
# technician confirms; ``version`` counts the changes, so that two confirmations of one draft
# at once find one winner.
work_orders = Table(
    "work_orders", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident", Integer),
    Column("author", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),  # the fields, as JSON
    Column("confirmed_by", String(64)),
    Column("confirmed_at", Float),
    Column("exported_at", Float),
    Index("work_orders_by_status", "status", "updated"))

LEGACY_FILES = {"users.sqlite3": users, "audit.sqlite3": audit, "incidents.sqlite3": incidents}
EMBEDDED_FILE = "records.sqlite3"


class DatabaseError(RuntimeError):
    """The database cannot be used; the message names it (never its password) and what to do."""


# What a request meets when the database goes away while the app runs (a server restart, a
# failover, a network cut): the driver's errors come through SQLAlchemy.
UNREACHABLE = (DatabaseError, SQLAlchemyError)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    """A wait instead of 'database is locked', WAL (readers never wait for the writer), and
    autocommit at the driver, so that SQLAlchemy's transactions are the only ones."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    _into_wal(cursor)
    cursor.close()


def _into_wal(cursor: Any, wait_s: float = 10.0) -> None:
    """Switch a fresh file to WAL (the mode is kept in the file, so this is once per file).
    Processes opening a new file together race for the switch, and SQLite answers the losers
    'database is locked' without calling its busy handler (seen in CI: four replicas started
    at once), so the switch is retried here for as long as the busy timeout would wait."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    exclusive = connection.get_execution_options().get(_EXCLUSIVE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if exclusive else "BEGIN")


# Schema upgrades and legacy imports run one process at a time: several UI replicas (or `ui`
# and `ingest`) may start together on a fresh database. PostgreSQL: an advisory lock on this
# key for the transaction; SQLite: BEGIN IMMEDIATE (the write lock from the start).
_EXCLUSIVE = "plantops_exclusive"
_UPGRADE_LOCK_KEY = 0x504C414E544F5053  # "PLANTOPS"


class Database:
    """An engine on the app's database, at this code's schema revision."""

    def __init__(self, url: str, password: str | None = None) -> None:
        parsed = make_url(url)
        if password is not None:
            parsed = parsed.set(password=password)
        self.shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # pre-ping: a restarted server or a failed-over address costs one retry, not an
            # error on the first request after it
            self.engine = create_engine(parsed, pool_pre_ping=True, pool_size=5,
                                        max_overflow=10, pool_recycle=1800)
        try:
            self.upgrade()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"the database {self.shown} cannot be opened: "
                                f"{_first_line(exc)}. Check database.url (and "
                                "database.password_file), and that the server is up; "
                                "`plantops doctor` tests it") from exc

    @classmethod
    def in_file(cls, path: Path) -> Database:
        """The embedded default: a SQLite file."""
        return cls(f"sqlite:///{path}")

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _exclusive(self) -> Iterator[Connection]:
        """A transaction no other process of ours runs at the same time (see _EXCLUSIVE)."""
        with self.engine.execution_options(**{_EXCLUSIVE: True}).begin() as connection:
            if self.backend == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _UPGRADE_LOCK_KEY})
            yield connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as connection:
            yield connection

    def upgrade(self) -> None:
        """Bring the schema to this code's revision (Alembic); refuse a newer one."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location",
                               str(resources.files("app.records") / "migrations"))
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head()
        with self._exclusive() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and current not in {r.revision for r in
                                                       script.walk_revisions()}:
                raise DatabaseError(
                    f"the database {self.shown} is at schema revision {current}, newer than "
                    f"this version of PlantOps knows (its newest: {head}); run the newer "
                    "version, or restore the database's backup from before the upgrade")
            if current != head:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def check(self) -> str:
        """A round trip; raises DatabaseError naming the database when it fails."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseError(f"the database {self.shown} is unreachable: "
                                f"{_first_line(exc)}") from exc
        return f"{self.shown} ({self.backend}, schema {self.revision()})"

    def import_legacy(self, folder: Path) -> dict[str, int]:
        """Rows of the per-table SQLite files of earlier releases, copied with their ids in
        one transaction per file; each file is then renamed ``*.imported`` (kept, not
        deleted). Returns the rows imported per file. Two processes starting together import
        each file once: the file is looked for again, and renamed, under the exclusive lock."""
        imported = {}
        for name, table in LEGACY_FILES.items():
            path = folder / name
            if not path.is_file():
                continue
            with self._exclusive() as connection:
                if not path.is_file():  # the other process imported it while we waited
                    continue
                rows = _legacy_rows(path, table)
                if rows:
                    connection.execute(insert(table), rows)
                self._after_explicit_ids(connection, table)
                done = path.with_name(name + ".imported")
                path.rename(done)  # inside the transaction: a failed commit renames it back
                try:
                    connection.commit()
                except BaseException:
                    done.rename(path)
                    raise
            for extra in ("-wal", "-shm"):
                path.with_name(name + extra).unlink(missing_ok=True)
            imported[name] = len(rows)
        return imported

    def _after_explicit_ids(self, connection: Connection, table: Table) -> None:
        """PostgreSQL's sequences do not see ids inserted by hand: move them past the rows."""
        if self.backend != "postgresql" or "id" not in table.columns:
            return
        top = connection.execute(select(func.max(table.c.id))).scalar()
        if top:
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                    f"'id'), {int(top)})"))


def _legacy_rows(path: Path, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table`` in an earlier release's file, by the columns both know."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {row[1] for row in source.execute(f"PRAGMA table_info({table.name})")}
        columns = [c.name for c in table.columns if c.name in present]
        return [dict(zip(columns, row, strict=True)) for row in source.execute(
            f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {table.name}")]
    finally:
        source.close()


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]
