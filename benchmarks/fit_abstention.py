"""Fit the not-found decision (app/answer/evidence.py) on the development questions only.

    .venv/bin/plantops --data-dir /tmp/eval eval ../shared/eval/dev.jsonl \\
        ../shared/eval/confirm.jsonl --features /tmp/features.jsonl
    .venv/bin/python -m benchmarks.fit_abstention /tmp/features.jsonl --fit-on dev.jsonl \\
        --out app/answer/abstention_model.json

Logistic regression (scikit-learn) on standardised features, then two thresholds chosen on
the same development questions: ``weak_at``, the highest that refuses at most
``--max-refused`` of the answerable ones; ``answer_at``, the probability above which no more
than ``--max-weak-unanswerable`` of the unanswerable ones lie, lowered until the band between
the two (answers shown marked "weak evidence") holds at most ``--max-weak-answerable`` of the
answerable ones. ``--thresholds-only`` keeps the shipped coefficients and caps answer_at.
Prints the figures of both sets, so the confirmation set is seen but never fitted on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from app.answer.evidence import FEATURES, AbstentionModel, Verdict


def load(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def fit(rows: list[dict], max_refused: float, max_weak_unanswerable: float,  # type: ignore[type-arg]
        c: float, max_weak_answerable: float = 1.0) -> AbstentionModel:
    x = np.asarray([[r["features"][f] for f in FEATURES] for r in rows])
    y = np.asarray([r["answerable"] for r in rows])
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    model = LogisticRegression(C=c).fit((x - means) / scales, y)
    p = model.predict_proba((x - means) / scales)[:, 1]
    answerable, unanswerable = np.sort(p[y]), np.sort(p[~y])
    weak_at = float(answerable[int(np.floor(max_refused * len(answerable)))]) - 1e-6
    answer_at = max(weak_at, float(np.quantile(unanswerable, 1 - max_weak_unanswerable)))
    # A label on a third of the right answers teaches operators to ignore it (#29): the band
    # holds at most max_weak_answerable of the answerable questions, the lowest-scored ones.
    answer_at = capped_band(answerable, weak_at, answer_at, max_weak_answerable)
    return AbstentionModel(
        intercept=float(model.intercept_[0]),
        coefficients={f: float(w) for f, w in zip(FEATURES, model.coef_[0], strict=True)},
        means={f: float(m) for f, m in zip(FEATURES, means, strict=True)},
        scales={f: float(s) for f, s in zip(FEATURES, scales, strict=True)},
        answer_at=round(answer_at, 4), weak_at=round(weak_at, 4),
        fitted_on=f"{len(rows)} questions; C={c}, max_refused={max_refused}, "
                  f"max_weak_unanswerable={max_weak_unanswerable}, "
                  f"max_weak_answerable={max_weak_answerable}")


def capped_band(answerable: np.ndarray, weak_at: float, answer_at: float,
                max_weak_answerable: float) -> float:
    """``answer_at`` lowered until the weak band [weak_at, answer_at) holds at most
    ``max_weak_answerable`` of the answerable questions (their probabilities, sorted)."""
    banded = answerable[answerable >= weak_at]
    allowed = int(np.floor(max_weak_answerable * len(answerable)))
    if allowed < len(banded):
        answer_at = min(answer_at, max(weak_at, float(banded[allowed]) - 1e-6))
    return answer_at


def rethreshold(rows: list[dict], shipped: AbstentionModel,  # type: ignore[type-arg]
                max_weak_answerable: float) -> AbstentionModel:
    """The shipped coefficients and weak_at kept; answer_at capped by the weak-band rule."""
    answerable = np.sort([shipped.probability(r["features"]) for r in rows if r["answerable"]])
    answer_at = capped_band(answerable, shipped.weak_at, shipped.answer_at, max_weak_answerable)
    return AbstentionModel(**{**shipped.__dict__, "answer_at": round(answer_at, 4),
                              "fitted_on": f"{shipped.fitted_on}; answer_at capped on "
                              f"{len(rows)} questions, max_weak_answerable={max_weak_answerable}"})


def report(name: str, rows: list[dict], model: AbstentionModel) -> None:  # type: ignore[type-arg]
    verdicts = [(r["answerable"], model.decide(r["features"]).verdict) for r in rows]
    answerable = [v for a, v in verdicts if a]
    unanswerable = [v for a, v in verdicts if not a]
    print(f"{name:<14} n={len(rows):3d}  answerable refused "
          f"{sum(v is Verdict.NOT_FOUND for v in answerable) / len(answerable):.3f}, weak "
          f"{sum(v is Verdict.WEAK for v in answerable) / len(answerable):.3f}  |  "
          f"unanswerable declined "
          f"{sum(v is Verdict.NOT_FOUND for v in unanswerable) / len(unanswerable):.3f}, "
          f"weak {sum(v is Verdict.WEAK for v in unanswerable) / len(unanswerable):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("features", type=Path)
    parser.add_argument("--fit-on", default="dev.jsonl", help="the question set to fit on")
    parser.add_argument("--max-refused", type=float, default=0.03)
    parser.add_argument("--max-weak-unanswerable", type=float, default=0.10)
    parser.add_argument("--max-weak-answerable", type=float, default=0.15,
                        help="share of the answerable questions the weak band may hold")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--thresholds-only", action="store_true",
                        help="keep the shipped coefficients and weak_at; cap answer_at only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = load(args.features)
    train = [r for r in rows if r["set"] == args.fit_on]
    if args.thresholds_only:
        model = rethreshold(train, AbstentionModel.load(), args.max_weak_answerable)
    else:
        model = fit(train, args.max_refused, args.max_weak_unanswerable, args.c,
                    args.max_weak_answerable)
    print("coefficients (per standard deviation):",
          {f: round(w, 2) for f, w in model.coefficients.items()})
    print(f"thresholds: answer >= {model.answer_at}, weak >= {model.weak_at}")
    for name in dict.fromkeys(r["set"] for r in rows):
        report(name + (" (fit)" if name == args.fit_on else ""),
               [r for r in rows if r["set"] == name], model)
    if args.out:
        args.out.write_text(json.dumps(model.__dict__, indent=2) + "\n", encoding="utf-8")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
