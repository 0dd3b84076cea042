"""One writer of the index at a time, per data dir.

Two ingests at once (the nightly job and an admin's upload, two admins' uploads) would
interleave their writes to the manifest and rebuild BM25 over each other; and a run could
not tell another run's half-written version from one a killed run left behind. The lock is
an advisory ``flock`` on ``<data dir>/ingest.lock``: the kernel drops it when its holder
dies, however it dies, so a killed run never leaves it held. Each acquisition opens the
file anew, so two threads of one process exclude each other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path


class IngestLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def held(self, waiting: Callable[[str], None] = lambda holder: None) -> Iterator[None]:
        """Hold the lock; if another run holds it, call ``waiting`` with who that is, then
        block until it is free."""
        with self._open() as fd:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waiting(self._holder(fd))
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._claim(fd)
            yield

    @contextlib.contextmanager
    def if_free(self) -> Iterator[bool]:
        """Hold the lock if no run holds it now (True), else go on without it (False)."""
        with self._open() as fd:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            self._claim(fd)
            yield True

    @contextlib.contextmanager
    def _open(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            yield fd  # closing the descriptor releases the lock
        finally:
            os.close(fd)

    @staticmethod
    def _claim(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)

    @staticmethod
    def _holder(fd: int) -> str:
        return os.pread(fd, 200, 0).decode("utf-8", "replace") or "another process"
