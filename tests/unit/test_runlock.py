"""One ingest at a time per data dir (ingest.runlock)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ingest.runlock import IngestLock


def test_a_second_writer_waits_and_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    lock = IngestLock(tmp_path / "ingest.lock")
    told: list[str] = []
    order: list[str] = []
    with lock.held():
        second = threading.Thread(target=lambda: _hold(lock, told, order))
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive()  # blocked while the first holds it
        with lock.if_free() as free:
            assert not free  # a BM25 sync leaves the lock to the running ingest
        order.append("first done")
    second.join(timeout=5)
    assert order == ["first done", "second ran"]
    assert told == [f"pid {os.getpid()} on {os.uname().nodename}"]
    with lock.if_free() as free:
        assert free


def _hold(lock: IngestLock, told: list[str], order: list[str]) -> None:
    with lock.held(told.append):
        order.append("second ran")
