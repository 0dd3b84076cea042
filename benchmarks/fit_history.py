"""Fit how history questions match work orders (app/answer/history/) on the development
questions.

    .venv/bin/python -m benchmarks.fit_history --data-dir /tmp/eval \\
        ../shared/eval/dev.jsonl --confirm ../shared/eval/confirm.jsonl

For every log question (``log_lookup``, and ``unanswerable`` ones the history path takes), the
evidence of each work order is computed once; then every combination of the grid below is
scored on the development set: record recall (share of the gold records in the list) and
precision (share of the listed records that are gold or judged correct on reading:
``history_judgements.json`` says how; a listed record nobody has read counts as wrong, and
their number is printed, so a change that lists new records asks for them to be read). The
best by min(recall / 0.90, precision / 0.80) replaces the shipped defaults only when a paired
bootstrap over the questions puts its gain above zero (else the difference is noise and the
defaults stay); the chosen settings' figures on the confirmation set are printed: seen, never
fitted on.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

from app.answer.history.finder import HistoryFinder
from app.answer.history.matches import Evidence, History, Match, select
from app.evaluation import Judgement, load_judgements
from app.services import Services
from app.settings import HistorySettings, Settings

GRID = {
    "similarity_floor": (0.3, 0.35, 0.4, 0.45, 0.5),
    "similarity_window": (0.1, 0.15, 0.2, 0.25, 0.3),
    "worded_quantile": (-1, 0.0, 0.25, 0.5),
}


@dataclass
class Case:
    """One question and what does not depend on the settings."""

    row: dict  # type: ignore[type-arg]
    history: History | None  # settled without a subject (an asset's history, an unknown id)
    evidence: list[Evidence] | None  # to select from, when it has a subject
    shown_by_retrieval: set[str]  # records of the top 5 passages, when not a history question


def cases(services: Services, finder: HistoryFinder, path: Path) -> list[Case]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] not in ("log_lookup", "unanswerable"):
            continue
        hits = services.retriever.retrieve(row["question"])
        question = finder.route(row["question"], hits)
        shown = {h.chunk.record_id or "" for h in hits}
        if question is None:
            out.append(Case(row, None, None, shown))
            continue
        pool, terms = finder.pool(question)
        if question.subject and pool and not (question.unknown and not question.assets):
            out.append(Case(row, History(question), finder.evidence(question, pool, terms),
                            shown))
        else:
            out.append(Case(row, finder.find(question), None, shown))
    return out


JUDGEMENTS = Path(__file__).with_name("history_judgements.json")


@functools.cache
def _judgements() -> dict[str, Judgement]:
    return load_judgements(JUDGEMENTS)


def judged(row: dict, match: Match) -> bool | None:  # type: ignore[type-arg]
    """Whether a listed work order is correct: gold, or judged so on reading; None: unread."""
    record = match.order.record_id
    if record in {s.get("record") for s in row["sources"]}:
        return True
    judgement = _judgements().get(row["id"])
    if judgement is None or record not in judgement.read | judgement.correct:
        return None
    return record in judgement.correct


def score(items: list[Case], settings: HistorySettings) -> dict[str, list[float]]:
    recall, precision, declined, unread = [], [], [], []
    for case in items:
        if case.evidence is not None:
            matches = select(case.evidence, settings)
            answered = bool(matches) and not case.history.question.missing  # type: ignore[union-attr]
        elif case.history is not None:
            matches, answered = case.history.matches, case.history.answered
        else:
            matches, answered = [], True  # the retrieval path; its own gate decides there
        if case.row["kind"] == "unanswerable":
            if case.history is not None:
                declined.append(float(not answered))
            continue
        gold = {s["record"] for s in case.row["sources"]}
        shown = ({m.order.record_id for m in matches} if case.history is not None
                 else case.shown_by_retrieval)
        recall.append(len(gold & shown) / len(gold))
        if case.history is not None:
            verdicts = [judged(case.row, m) for m in matches]
            precision.append(sum(v is True for v in verdicts) / max(len(matches), 1))
            unread.append(sum(v is None for v in verdicts))
        else:
            precision.append(len(gold & shown) / max(len(shown), 1))
    return {"recall": recall, "precision": precision, "declined": declined, "unread": unread}


def interval(values: list[float], resamples: int = 2000) -> str:
    if not values:
        return "n/a"
    rng = random.Random(0)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values)
                   for _ in range(resamples))
    mean = sum(values) / len(values)
    return f"{mean:.3f} ({means[int(0.025 * resamples)]:.3f}–{means[int(0.975 * resamples)]:.3f})"


def gain_interval(new: dict[str, list[float]], old: dict[str, list[float]],
                  resamples: int = 2000) -> tuple[float, float]:
    """95 % interval of how much ``new`` raises min(recall / 0.90, precision / 0.80) over
    ``old``, resampling the questions (paired: both are scored on the same draw)."""
    rng = random.Random(0)
    n = len(new["recall"])

    def objective(s: dict[str, list[float]], draw: list[int]) -> float:
        r = sum(s["recall"][i] for i in draw) / n
        p = sum(s["precision"][i] for i in draw) / n
        return min(r / 0.9, p / 0.8)

    gains = sorted(objective(new, d) - objective(old, d)
                   for d in ([rng.randrange(n) for _ in range(n)] for _ in range(resamples)))
    return gains[int(0.025 * resamples)], gains[int(0.975 * resamples)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dev", type=Path)
    parser.add_argument("--confirm", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    services = Services(Settings(data_dir=args.data_dir))
    finder = services.history
    dev = cases(services, finder, args.dev)
    confirm = cases(services, finder, args.confirm) if args.confirm else []
    results = []
    for values in itertools.product(*GRID.values()):
        settings = HistorySettings(**dict(zip(GRID, values, strict=True)))
        s = score(dev, settings)
        r, p = (sum(s[k]) / len(s[k]) for k in ("recall", "precision"))
        results.append((min(r / 0.9, p / 0.8), r, p, settings))
    results.sort(key=lambda item: (-round(item[0], 6), -(item[1] + item[2])))  # ties: R + P
    for _, r, p, settings in results[:5]:
        fitted = settings.model_dump(exclude={"enabled", "nearest"})
        print(f"dev recall {r:.3f} precision {p:.3f}  {fitted}")
    best, shipped = results[0][3], HistorySettings()
    low, high = gain_interval(score(dev, best), score(dev, shipped))
    chosen = best if low > 0 else shipped
    print(f"\nbest vs shipped defaults, paired bootstrap of min(R/0.90, P/0.80) on dev: "
          f"{low:+.3f} to {high:+.3f} →",
          "the best beats them" if low > 0 else "within noise: the defaults are kept")
    print("chosen:", chosen.model_dump(exclude={"enabled", "nearest"}))
    for name, items in (("dev", dev), ("confirm", confirm)):
        if items:
            s = score(items, chosen)
            print(f"{name:8} log questions {len(s['recall'])}: record recall "
                  f"{interval(s['recall'])}, precision {interval(s['precision'])}; "
                  f"unanswerable log questions declined {interval(s['declined'])} "
                  f"(n={len(s['declined'])}); listed but not yet judged (counted wrong): "
                  f"{int(sum(s['unread']))}")


if __name__ == "__main__":
    main()
