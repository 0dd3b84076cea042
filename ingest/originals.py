"""Copies of the ingested files, kept beside the index by content hash.

A citation must open the exact version that was indexed, long after the USB
stick it came from is gone; so ingest keeps each file's bytes under its
sha256, and page previews and downloads read only from here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path


class OriginalStore:
    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def path(self, sha256: str) -> Path:
        return self._root / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, source: Path, sha256: str) -> None:
        """Keep a copy of `source` (whose hash is `sha256`); a no-op when already kept.
        Written under a temporary name and renamed, so a killed run leaves no half file."""
        target = self.path(sha256)
        if target.is_file():
            return
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)

    def prune(self, keep: set[str]) -> int:
        """Delete kept files of versions no longer indexed; returns how many."""
        return prune_versions(self._root.iterdir(), keep)


def prune_versions(paths: Iterable[Path], keep: set[str],
                   version_of: Callable[[Path], str] = lambda path: path.name) -> int:
    """Delete the files or folders, named by a document version, of versions not in
    ``keep``; returns how many. Originals, page previews and download copies share it."""
    gone = 0
    for path in paths:
        if version_of(path) not in keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            gone += 1
    return gone
