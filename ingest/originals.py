"""Copies of the ingested files, kept beside the index by content hash.

A citation must open the exact version that was indexed, long after the USB
stick it came from is gone; so ingest keeps each file's bytes under its
sha256, and page previews and downloads read only from here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class OriginalStore:
    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

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
        gone = 0
        for path in self._root.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
