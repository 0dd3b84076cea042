"""`plantops ingest` and `plantops index`: files into the index, with progress on the
terminal, and what the index holds."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from app.commands.output import console
from app.services import Services

if TYPE_CHECKING:  # imported where used: a command that does little must start fast
    from ingest.pipeline import FileResult, IngestReport


class _RateColumn(ProgressColumn):
    """Items per second (the embedding rate, on the chunks bar)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.0f}/s" if task.speed else "")


class _RichObserver:
    """Ingest progress: files (and PDF pages read), chunks and embedding rate."""

    def __init__(self, progress: Progress, files_total: int) -> None:
        self._progress = progress
        self._files = progress.add_task("files", total=files_total)
        self._chunks = progress.add_task("chunks", total=0)
        self._pages = 0

    def waiting(self, holder: str) -> None:
        console.print(f"[yellow]another ingest is writing this index ({holder}); this one "
                      "starts when it ends[/yellow]")

    def file_reading(self, file: str) -> None:
        self._progress.update(self._chunks, description=f"reading {file}")

    def file_started(self, file: str, chunks: int, pages: int) -> None:
        self._pages += pages
        self._progress.update(self._files, description=f"files · {self._pages} pages")
        task = self._progress.tasks[self._chunks]
        self._progress.update(self._chunks, total=(task.total or 0) + chunks,
                              description=f"chunks · {file}")

    def chunks_embedded(self, count: int) -> None:
        self._progress.advance(self._chunks, count)

    def file_finished(self, result: FileResult) -> None:
        self._progress.advance(self._files)


def summary(report: IngestReport, seconds: float) -> Table:
    from ingest.pipeline import Outcome

    table = Table(title=f"Ingest summary ({seconds:.1f} s)")
    for col in ("file", "outcome", "chunks", "reason"):
        table.add_column(col)
    for r in report.results:
        style = "red" if r.outcome is Outcome.FAILED else None
        table.add_row(r.file, str(r.outcome), str(r.chunks), r.reason, style=style)
    return table


def cmd_ingest(services: Services, args: argparse.Namespace) -> int:
    from ingest.discovery import discover_sources

    started = time.monotonic()
    if args.collection and not args.dry_run:
        # before the files are indexed: there is no moment at which everyone can read them
        files = [f.name for f in discover_sources(args.paths)[0]]
        changed = services.collections.assign(files, args.collection, by="ingest")
        console.print(f"{len(files)} file(s) in collection {args.collection} "
                      f"({changed} newly)")
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), _RateColumn(),
                      console=console, transient=True) as progress:
            observer = _RichObserver(progress, len(discover_sources(args.paths)[0]))
            report = services.ingestor.ingest(args.paths, prune=args.prune,
                                              dry_run=args.dry_run, observer=observer)
    except Exception as exc:
        report = _nothing_written(services, args.paths, exc)
    seconds = time.monotonic() - started
    console.print(summary(report, seconds))
    if args.report:
        args.report.write_text(json.dumps({
            "seconds": round(seconds, 3), "exit_code": report.exit_code,
            "files": [asdict(r) for r in report.results]}, indent=2))
    return report.exit_code


def _nothing_written(services: Services, paths: list[Path], exc: Exception) -> IngestReport:
    """The index could not even be opened for writing: with a full disk, every file is
    reported failed by name with the reason (exit 3, the report still written); any other
    error goes on up, as before."""
    from ingest.discovery import discover_sources
    from ingest.errors import disk_full
    from ingest.pipeline import FileResult, IngestReport, Outcome

    reason = disk_full(services.settings.data_dir, exc)
    if reason is None:
        raise exc
    files, refused = discover_sources(paths)
    return IngestReport([FileResult(f.name, Outcome.FAILED, reason=reason) for f in files]
                        + [FileResult(r.name, Outcome.FAILED, reason=r.reason) for r in refused])


def index_stats(services: Services) -> dict[str, object]:
    entries = services.manifest.entries()
    by_type: dict[str, int] = {}
    for e in entries:
        by_type[e.doc_type] = by_type.get(e.doc_type, 0) + e.chunks
    last = max((e.ingested_at for e in entries), default=None)
    return {
        "documents": len(entries),
        "chunks": services.index.count(),
        "chunks_by_type": by_type,
        "embedding_model": services.embedder.model_id,
        "pending": [e.file for e in entries if e.status != "done"],
        "last_ingest": datetime.fromtimestamp(last, UTC).isoformat() if last else None,
        "disk": _disk(services.settings.data_dir),
    }


def _disk(folder: Path) -> str:
    from ingest.errors import disk_full

    return disk_full(folder) or f"{shutil.disk_usage(folder).free / 1e9:.1f} GB free"


def cmd_index(services: Services, args: argparse.Namespace) -> int:
    if args.index_command == "stats":
        stats = index_stats(services)
        if args.json:
            print(json.dumps(stats))
        else:
            for key, value in stats.items():
                console.print(f"[bold]{key}[/bold]: {value}")
        return 0
    if not services.ingestor.remove(args.file):
        console.print(f"{args.file} is not in the index; `plantops index stats` lists documents")
        return 1
    console.print(f"removed {args.file}")
    return 0
