"""`plantops plan`: the table (or JSON) of what each server profile needs for the peak."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from app.planning import REFERENCE_PROFILES, Costs, Demand, Plan, load_measurement, plan
from app.settings import Settings


def parse_seconds(text: str) -> float:
    """'3s', '3', '1500ms' -> seconds."""
    text = text.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.removesuffix("s"))


def _money(value: float | None) -> str:
    return "—" if not value else f"{value:,.0f}"


def cmd_plan(settings: Settings, args: argparse.Namespace) -> int:
    demand = Demand(args.peak_concurrent, args.prompt_tokens, args.answer_tokens,
                    parse_seconds(args.ttft_p95), args.min_tokens_per_s, args.operators)
    cost = settings.planning
    costs = Costs(cost.energy_per_kwh, cost.utilisation, cost.maintenance_per_year,
                  cost.staff_per_year)
    profiles = [load_measurement(path, cost.measured_price_per_replica,
                                 cost.measured_power_w_per_replica) for path in args.measured]
    plans = [plan(p, demand, costs) for p in [*profiles, *REFERENCE_PROFILES]]
    if args.json:
        print(json.dumps({"demand": demand.__dict__, "costs": costs.__dict__,
                          "plans": [p.as_json() for p in plans]}, indent=2))
        return 0
    console = Console()
    console.width = max(console.width, 132)  # eight columns stay readable in a log file
    console.print(_table(plans, demand))
    for p in plans:
        for note in p.notes:
            print(f"  {p.profile}: {note}", file=sys.stdout)
        print(f"  {p.profile}: source: {p.source}")
    return 0


def _table(plans: list[Plan], demand: Demand) -> Table:
    table = Table(title=f"Peak {demand.peak_concurrent} concurrent answers, "
                        f"{demand.prompt_tokens}-token prompts, {demand.answer_tokens}-token "
                        f"answers; targets: p95 TTFT ≤ {demand.ttft_p95_s:g} s, ≥ "
                        f"{demand.min_tokens_per_s:g} tokens/s per user")
    for column in ("profile", "replicas", "GPUs", "p95 TTFT s", "tokens/s per user",
                   "3-year TCO", "5-year TCO", "5 years per operator"):
        table.add_column(column)
    for p in plans:
        per_operator = (p.tco.get(5, 0) / demand.operators if demand.operators and p.tco
                        else None)
        table.add_row(p.profile + ("" if p.measured else " *"),
                      str(p.replicas) if p.replicas else "not reachable",
                      str(p.gpus) if p.gpus else "—", f"{p.ttft_p95_s:.2f}",
                      f"{p.tokens_per_s_per_user:.1f}", _money(p.tco.get(3)),
                      _money(p.tco.get(5)), _money(per_operator))
    table.caption = "* reference figures, not measured here"
    return table
