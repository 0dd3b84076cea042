"""`plantops history`: an asset's work orders, or a failure's spread across assets."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from app.answer.history.matches import History
from app.services import Services


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    history = sub.add_parser("history", help="work orders of an asset, or matching a failure, "
                             "listed whole and counted")
    history.add_argument("asset", nargs="?", help="asset id, e.g. PH639")
    history.add_argument("--match", help="work orders matching these words on every asset, "
                         "e.g. \"park brake\" (as the Ask tab's history questions match)")
    history.add_argument("--words", default="", help="with ASSET: only work orders holding "
                         "every one of these words (abbreviations count: c/o = change out)")
    history.add_argument("--component", default="", help="with ASSET: only this component")
    history.add_argument("--json", action="store_true")


def cmd_history(services: Services, args: argparse.Namespace) -> int:
    """0: work orders listed; 1: none (an unknown asset, or nothing matches); 2: bad usage."""
    console = Console(stderr=True)
    if bool(args.asset) == bool(args.match):
        console.print("name an asset (plantops history PH639) or --match \"words\", not both")
        return 2
    found = (services.history.asset_history(args.asset, args.words, args.component)
             if args.asset else services.history.matching(args.match))
    if args.json:
        json.dump(found.to_json(), sys.stdout, indent=2)
        print()
    else:
        _print(found, Console())
    return 0 if found.matches else 1


def _print(found: History, out: Console) -> None:
    asked = found.question
    if asked.unknown and not found.matches:
        hints = [f"{u.upper()} (did you mean {found.suggestions[u]}?)" if u in found.suggestions
                 else u.upper() for u in asked.unknown]
        out.print(f"No work order names {', '.join(hints)}.")
        return
    for note in found.notes:
        out.print(note)
    if not found.matches:
        out.print(f"No work order matches “{asked.text}”.")
        return
    table = Table(title=f"{found.count_label} work order(s) — {asked.text}")
    for column in ("asset", "work order", "date", "description", "action", "component",
                   "matched by"):
        table.add_column(column)
    for match in found.grouped():
        order = match.order
        table.add_row(order.asset or "–", order.record_id, order.date or "–", order.description,
                      order.action or "–", order.component or "–", match.how)
    out.print(table)
    spread = ", ".join(f"{a} ({n})" for a, n in found.per_asset())
    dates = found.dates()
    out.print(f"{found.count_label} work order(s) on {len(found.per_asset())} asset(s): "
              f"{spread}" + (f"; {dates[0]} to {dates[1]}" if dates else
                             "; no dates in the export"))
    for caution in found.cautions():
        out.print(caution, style="bold yellow", markup=False, highlight=False)
