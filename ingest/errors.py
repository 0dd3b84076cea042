"""Errors of the ingest package.

``IngestError`` is the base. ``SourceError`` is about one input file: the batch
reports it by name and goes on. ``IndexError_`` is about the index as a whole
(wrong embedding model, unreachable Chroma server) and stops the run.
"""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base class: every message says what happened and what to do next."""


class SourceError(IngestError):
    """One input file could not be read; the rest of the batch goes on."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class IndexUnavailableError(IngestError):
    """The index cannot be opened or reached."""


class EmbeddingModelMismatchError(IngestError):
    """The collection was built with another embedding model."""


# Below this much free space a write failure in the data folder is taken for a full disk:
# SQLite and Chroma report it in their own words ("disk I/O error", "database or disk is full").
_FULL_BELOW_BYTES = 4 * 1024 * 1024


def disk_full(folder: Path, error: BaseException | None = None) -> str | None:
    """What to say when the filesystem of ``folder`` is full (an ENOSPC or EDQUOT error, or
    less than 4 MB free), naming it and what to do; None when it is not."""
    import errno
    import shutil

    place = folder
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        free = shutil.disk_usage(place).free
    except OSError:
        return None
    no_space = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    if not (no_space or free < _FULL_BELOW_BYTES):
        return None
    return (f"no space left on the disk of {folder} ({free / 1e6:.1f} MB free): disk full. "
            "Free space there (or move the data folder: PLANTOPS_DATA_DIR), then run the "
            "ingest again; what was indexed before is unchanged")
