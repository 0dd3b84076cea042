"""In-process egress guard: no connection leaves for an address we did not configure.

A Python audit hook sees every ``socket.connect``, ``socket.sendto`` and
``socket.getaddrinfo``. Loopback, Unix sockets and the configured model-server, Chroma,
records-database and directory hosts pass; anything else raises ``EgressBlocked`` before a packet
is sent, and is logged (JSON lines, with the stack that tried) for
`plantops doctor`. Audit hooks cannot be removed once added: install the guard
once, at a process's entry point.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class EgressBlocked(PermissionError):
    """A connection to a non-allowed address was refused by the egress guard."""


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
        return address.is_loopback or address.is_unspecified  # 0.0.0.0 is this host
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


def allowed_hosts_from_urls(urls: Iterable[str | None]) -> set[str]:
    """Hosts of the configured endpoints, and the addresses they resolve to now."""
    hosts = {urlparse(u).hostname or "" for u in urls if u}
    addresses = set()
    for host in hosts - {""}:
        try:
            addresses |= {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError:
            continue  # unresolvable now: the name itself stays allowed
    return {h.lower() for h in hosts | addresses if h}


class EgressGuard:
    def __init__(self, allowed: set[str], log_path: Path | None) -> None:
        self.allowed = {h.lower() for h in allowed}
        self.log_path = log_path
        self._lock = threading.Lock()

    def permits(self, host: str) -> bool:
        return _is_loopback(host) or host.lower() in self.allowed

    def _host_of(self, event: str, args: tuple) -> str | None:  # type: ignore[type-arg]
        if event == "socket.getaddrinfo":
            return str(args[0]) if args[0] is not None else None
        address = args[1] if event == "socket.connect" else args[-1]
        if isinstance(address, tuple) and address:
            return str(address[0])
        return None  # Unix socket paths and the like

    def __call__(self, event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if event not in ("socket.connect", "socket.sendto", "socket.getaddrinfo"):
            return
        host = self._host_of(event, args)
        if host is None or self.permits(host):
            return
        self._log(event, host)
        raise EgressBlocked(f"egress guard: {event} to {host!r} refused: not loopback and not "
                            "a configured endpoint (serving.base_urls, ingest.index.chroma_url, "
                            "database.url, directory.url)")

    def _log(self, event: str, host: str) -> None:
        if self.log_path is None:
            return
        entry = {"time": time.time(), "event": event, "host": host,
                 "stack": "".join(traceback.format_stack(limit=12)[:-2])}
        with self._lock:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")


_installed: EgressGuard | None = None


def install_egress_guard(allowed: set[str], log_path: Path | None) -> EgressGuard:
    """Add the audit hook once per process; later calls widen nothing and return it."""
    global _installed
    if _installed is None:
        _installed = EgressGuard(allowed, log_path)
        sys.addaudithook(_installed)
    return _installed


def read_blocked(log_path: Path) -> list[dict[str, object]]:
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
