"""`plantops doctor` and `plantops bundle`: checks of this host, and the offline bundle."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from app.commands.output import console
from app.services import Services, guard_log_path
from app.settings import Settings


def cmd_doctor(services: Services) -> int:
    from app.ops.doctor import run_checks

    checks = run_checks(services, guard_log_path(services.settings))
    report = Console()  # the report is the output: stdout
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        report.print(f"{mark} [bold]{check.name}[/bold]: {check.detail}", highlight=False)
    return 0 if all(c.ok for c in checks) else 1


def cmd_bundle(settings: Settings, args: argparse.Namespace) -> int:
    from app.ops.bundle import BundleError, BundlePlan, build_bundle, describe_plan

    root = Path(__file__).resolve().parents[2]
    models = list(args.model)
    if not args.no_cpu_model:
        models.insert(0, settings.serving.profiles["cpu-small"].model_dir)
    vllm = "vllm-gpu" if args.gpu else "vllm"
    environments = ("app",) if args.no_vllm else ("app", vllm)
    plan = BundlePlan(root=root, out=args.out, python_version=args.python,
                      platform=args.platform,
                      environments=environments + (("router",) if args.router else ()),
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
