"""The model server's whole process group, ended together.

vLLM's API server starts an EngineCore, its Worker and Python's resource_tracker. When the API
server dies (the OOM killer's SIGKILL), they stay behind reparented to init, ignore SIGTERM and
hold 2-3 GB each (and a GPU's memory), so the restart systemd or Kubernetes makes next fails.
We start vLLM in a session of its own, so the group id is the API server's pid; to stop it we
signal the group (SIGTERM, then SIGKILL after a grace period) whether or not the API server is
still alive, and we write the group id to a pid file so that a new start first ends what an
earlier run of ours left (that run itself killed before it could).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _command_line(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                .decode("utf-8", "replace"))
    except OSError:
        return ""


def end_group(pgid: int, grace_s: float) -> bool:
    """SIGTERM the group, SIGKILL what is left after ``grace_s``; True if anything was
    running. Returns once no member is alive (or 5 s after the SIGKILL)."""
    if not group_members(pgid):
        return False
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not group_members(pgid):
                return True
            time.sleep(0.1)
    return True


class PidFile:
    """Where a model server we started records its group, so the next start can end it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, pgid: int, marker: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"pgid": pgid, "marker": marker}))
        os.replace(partial, self.path)

    def end_leftovers(self, grace_s: float) -> list[int]:
        """End the group an earlier run recorded, if its processes are still ours (a command
        line holding the marker: a recycled pid of another program is left alone); the pids
        that were ended."""
        try:
            recorded = json.loads(self.path.read_text())
            pgid, marker = int(recorded["pgid"]), str(recorded["marker"])
        except (OSError, ValueError, KeyError, TypeError):
            return []
        members = [p for p in group_members(pgid) if marker in _command_line(p)]
        if members:
            end_group(pgid, grace_s)
        self.path.unlink(missing_ok=True)
        return members

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
