"""Where commands write: progress and notes on stderr, results (JSON, reports) on stdout."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True)
