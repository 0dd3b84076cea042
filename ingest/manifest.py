"""The manifest of ingested sources, beside the index (SQLite).

A file is ``pending`` from the moment its chunks start to change until they
are all written, then ``done``. A run killed in between leaves ``pending``
behind, and the next run redoes that file; chunk ids are deterministic, so the
redo converges on exactly the right chunks.

The ``live`` table names the version (sha256) of each file that queries may
see. It switches in the same transaction that marks the file ``done``, so a
query sees the old version or the new one, never both and never neither,
however long the chunk writes take. The old version's chunks are deleted after the
switch; the ``sweep`` table remembers that this is still to do if the run is killed.

Each source also records the ``recipe`` it was cut with (chunking format, sizes, column
mapping): a file whose bytes did not change but whose recipe did is cut again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    PENDING = "pending"
    DONE = "done"


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    sha256: str
    status: Status
    chunks: int
    doc_type: str
    ingested_at: float
    recipe: str = ""  # "" for files indexed before recipes were recorded


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sources (file TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
            " status TEXT NOT NULL, chunks INTEGER NOT NULL, doc_type TEXT NOT NULL,"
            " ingested_at REAL NOT NULL, recipe TEXT NOT NULL DEFAULT '')")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sources)")}
        if "recipe" not in columns:  # a manifest from before recipes were recorded
            self._db.execute("ALTER TABLE sources ADD COLUMN recipe TEXT NOT NULL DEFAULT ''")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS live (file TEXT PRIMARY KEY, sha256 TEXT NOT NULL)")
        # Files whose older versions' chunks may still be in the index (the switch happened,
        # the clean-up not yet): swept after each switch, and at the start of every run.
        self._db.execute("CREATE TABLE IF NOT EXISTS sweep (file TEXT PRIMARY KEY)")

    def get(self, file: str) -> ManifestEntry | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM sources WHERE file = ?",
                               (file,)).fetchone()
        return _entry(row) if row else None

    def entries(self) -> list[ManifestEntry]:
        return [_entry(r) for r in self._db.execute(
            f"SELECT {_COLUMNS} FROM sources ORDER BY file")]

    def begin(self, file: str, sha256: str, doc_type: str, recipe: str) -> None:
        self._write(file, sha256, Status.PENDING, 0, doc_type, recipe)

    def complete(self, file: str, sha256: str, chunks: int, doc_type: str, recipe: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._write(file, sha256, Status.DONE, chunks, doc_type, recipe)
            self._db.execute("INSERT INTO live VALUES (?, ?) ON CONFLICT(file) DO UPDATE SET "
                             "sha256=excluded.sha256", (file, sha256))
            self._db.execute("INSERT OR IGNORE INTO sweep VALUES (?)", (file,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def remove(self, file: str) -> None:
        self._db.execute("DELETE FROM sources WHERE file = ?", (file,))
        self._db.execute("DELETE FROM live WHERE file = ?", (file,))
        self._db.execute("DELETE FROM sweep WHERE file = ?", (file,))

    def to_sweep(self) -> list[tuple[str, str]]:
        """(file, live sha256) of files that may still hold chunks of other versions."""
        return self._db.execute("SELECT w.file, l.sha256 FROM sweep w JOIN live l "
                                "ON l.file = w.file ORDER BY w.file").fetchall()

    def swept(self, file: str) -> None:
        self._db.execute("DELETE FROM sweep WHERE file = ?", (file,))

    def kept_versions(self) -> set[str]:
        """Every sha256 a file is, or is becoming: originals to keep."""
        return {sha for (sha,) in self._db.execute(
            "SELECT sha256 FROM sources UNION SELECT sha256 FROM live")}

    def files_of(self, sha256: str) -> set[str]:
        """The documents whose indexed or live version is ``sha256`` (a page image's owner)."""
        return {row[0] for row in self._db.execute(
            "SELECT file FROM sources WHERE sha256 = ? UNION SELECT file FROM live "
            "WHERE sha256 = ?", (sha256, sha256))}

    def live_versions(self, files: set[str]) -> dict[str, str | None]:
        """For each file the manifest knows: the sha256 queries may see, or None while
        its first version is still being written. Unknown files are left out."""
        if not files:
            return {}
        marks = ",".join("?" * len(files))
        rows = self._db.execute(
            f"SELECT s.file, l.sha256 FROM sources s LEFT JOIN live l ON l.file = s.file "
            f"WHERE s.file IN ({marks})", sorted(files)).fetchall()
        return {file: sha for file, sha in rows}

    def fingerprint(self) -> str:
        """Changes whenever any source's content, recipe or status changes."""
        digest = hashlib.sha256()
        for e in self.entries():
            digest.update(f"{e.file}\x1f{e.sha256}\x1f{e.status}\x1f{e.recipe}\n".encode())
        return digest.hexdigest()

    def close(self) -> None:
        self._db.close()

    def _write(self, file: str, sha256: str, status: Status, chunks: int, doc_type: str,
               recipe: str) -> None:
        self._db.execute(
            "INSERT INTO sources (file, sha256, status, chunks, doc_type, ingested_at, recipe)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(file) DO UPDATE SET "
            "sha256=excluded.sha256, status=excluded.status, chunks=excluded.chunks, "
            "doc_type=excluded.doc_type, ingested_at=excluded.ingested_at, recipe=excluded.recipe",
            (file, sha256, str(status), chunks, doc_type, time.time(), recipe))


_COLUMNS = "file, sha256, status, chunks, doc_type, ingested_at, recipe"


def _entry(row: tuple) -> ManifestEntry:  # type: ignore[type-arg]
    file, sha, status, chunks, doc_type, at, recipe = row
    return ManifestEntry(file, sha, Status(status), int(chunks), doc_type, float(at), recipe)
