"""`plantops plan`: the table (or JSON) of what each server profile needs for the peak."""

from __future__ import annotations

import argparse
import html
import json
import sys

from rich.console import Console
from rich.table import Table

from app.ops.planning import REFERENCE_PROFILES, Costs, Demand, Plan, load_measurement, plan
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
                    parse_seconds(args.ttft_p95), args.min_tokens_per_s, args.operators,
                    settings.ui.concurrency)
    cost = settings.planning
    costs = Costs(cost.energy_per_kwh, cost.utilisation, cost.maintenance_per_year,
                  cost.staff_per_year)
    profiles = [load_measurement(path, cost.measured_price_per_replica,
                                 cost.measured_power_w_per_replica) for path in args.measured]
    plans = [plan(p, demand, costs) for p in [*profiles, *REFERENCE_PROFILES]]
    if args.chart:
        args.chart.write_text(chart_html(plans, demand), encoding="utf-8")
    if args.json:
        print(json.dumps({"demand": demand.__dict__, "costs": costs.__dict__,
                          "plans": [p.as_json() for p in plans]}, indent=2))
        return 0
    console = Console()
    console.width = max(console.width, 150)  # nine columns stay readable in a log file
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
    for column in ("profile", "model replicas", "GPUs", "UI replicas", "p95 TTFT s",
                   "tokens/s per user", "3-year TCO", "5-year TCO", "5 years per operator"):
        table.add_column(column)
    for p in plans:
        per_operator = (p.tco.get(5, 0) / demand.operators if demand.operators and p.tco
                        else None)
        table.add_row(p.profile + ("" if p.measured else " *"),
                      (f"{p.replicas} (+{p.spare_replicas} spare)" if p.spare_replicas
                       else str(p.replicas)) if p.replicas else "not reachable",
                      str(p.gpus) if p.gpus else "—", str(p.ui_replicas),
                      f"{p.ttft_p95_s:.2f}",
                      f"{p.tokens_per_s_per_user:.1f}", _money(p.tco.get(3)),
                      _money(p.tco.get(5)), _money(per_operator))
    table.caption = ("* reference figures, not measured here. UI replicas: the peak with one "
                     f"down, {demand.answers_per_ui} answers each (ui.concurrency); spare: the "
                     "model replica that keeps the targets when one fails")
    return table


def chart_html(plans: list[Plan], demand: Demand) -> str:
    """A self-contained page (inline SVG, no scripts, no fonts fetched): 5-year cost against
    p95 time to first token, one point per profile that meets the targets."""
    shown = [p for p in plans if p.replicas and p.tco]
    width, height, pad = 720, 420, 70
    max_ttft = max([p.ttft_p95_s for p in shown] + [demand.ttft_p95_s]) * 1.15 or 1.0
    max_cost = max([p.tco[5] for p in shown] + [1.0]) * 1.15

    def x(ttft: float) -> float:
        return pad + ttft / max_ttft * (width - 2 * pad)

    def y(cost: float) -> float:
        return height - pad - cost / max_cost * (height - 2 * pad)

    marks = [f'<line x1="{x(demand.ttft_p95_s):.1f}" y1="{pad}" x2="{x(demand.ttft_p95_s):.1f}" '
             f'y2="{height - pad}" stroke="#b45309" stroke-dasharray="4 4"/>',
             f'<text x="{x(demand.ttft_p95_s) + 4:.1f}" y="{pad + 12}" fill="#b45309">'
             f'target {demand.ttft_p95_s:g} s</text>']
    for p in shown:
        label = html.escape(f"{p.profile}: {p.replicas} replica(s), {p.tco[5]:,.0f}")
        cx, cy = x(p.ttft_p95_s), y(p.tco[5])
        marks.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" '
                     f'fill="{"#1d4ed8" if p.measured else "#6b7280"}"/>'
                     f'<text x="{cx + 9:.1f}" y="{cy + 4:.1f}">{label}</text>')
    missed = "".join(f"<li>{html.escape(p.profile)}: does not meet the targets</li>"
                     for p in plans if not p.replicas)
    return f"""<!doctype html><meta charset="utf-8"><title>PlantOps plan</title>
<body style="font-family: system-ui, sans-serif">
<h1>5-year cost against p95 time to first token</h1>
<p>Peak {demand.peak_concurrent} concurrent answers, {demand.prompt_tokens}-token prompts,
{demand.answer_tokens}-token answers, at least {demand.min_tokens_per_s:g} tokens/s per user.
Blue: measured; grey: reference figures.</p>
<svg width="{width}" height="{height}" font-size="12">
<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>
<text x="{width / 2}" y="{height - 25}" text-anchor="middle">p95 time to first token (s)</text>
<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" text-anchor="middle">
5-year total cost</text>
{''.join(marks)}
</svg><ul>{missed}</ul></body>
"""
