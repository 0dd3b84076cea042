"""`plantops ask` and `plantops eval`: one answer on the terminal, and the question sets
scored."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from app.services import Services
from ingest.hazards import WARNINGS


def cmd_ask(services: Services, question: str) -> int:
    """Answer on the terminal: safety notices, the streamed answer, plain-text sources."""
    from app.answer.answering import AnswerStatus

    last = None
    for update in services.assistant.answer(question):
        if last is None and update.hazards:
            for number, hazard in update.hazards:
                print(f"WARNING [{number}]: {WARNINGS[hazard]}")
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
    for step in last.steps:
        print(f"STEP [{step.number}]: {step.text}")
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
