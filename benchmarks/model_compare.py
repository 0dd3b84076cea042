"""Two CPU models side by side on the same questions, from what the whole answer path made
of each (answers collected with ``benchmarks.sentence_support collect``, one file per model):
per answer, whether the model's text cites a passage, the share of its sentences no cited page
backs, the facts flagged, loops stopped, answers cut at the length limit, time to the first
token and to the end.

    .venv/bin/python -m benchmarks.model_compare /tmp/smollm2-dev.json /tmp/gemma-dev.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from app.answer.answering import cited_numbers
from app.answer.support import answer_sentences, checkable
from app.answer.verification import UNSUPPORTED_SENTENCE


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def figures(answers: list[dict[str, Any]]) -> dict[str, float]:
    claims = [sum(checkable(s) for s in answer_sentences(a["answer"])) for a in answers]
    unbacked = [a["flags"].count(UNSUPPORTED_SENTENCE) for a in answers]
    facts = [sum(k not in (UNSUPPORTED_SENTENCE, "citation") for k in a["flags"])
             for a in answers]
    first = [a["first_token_s"] for a in answers if a.get("first_token_s") is not None]
    total = [a["total_s"] for a in answers if a.get("total_s") is not None]
    n = len(answers)
    return {
        "answers": n,
        # a [n] of a passage it was given ([6] of five passages cites nothing)
        "cites a passage": sum(bool(set(map(str, cited_numbers(a["answer"])))
                                    & set(a["passages"])) for a in answers) / n,
        "sentences no cited page backs": sum(unbacked) / max(sum(claims), 1),
        "facts flagged per answer": sum(facts) / n,
        "loop stopped": sum("repeated itself" in a["notice"] for a in answers) / n,
        "cut at the length limit": sum("length limit" in a["notice"] for a in answers) / n,
        "first token p50 s": statistics.median(first) if first else float("nan"),
        "first token p95 s": _quantile(first, 0.95),
        "answer end p50 s": statistics.median(total) if total else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collected", type=Path, nargs="+", help="one collect output per model")
    args = parser.parse_args()
    loaded = [json.loads(path.read_text(encoding="utf-8")) for path in args.collected]
    # only the questions every model answered with text of its own: the same footing
    shared = set.intersection(*({a["id"] for a in run["answers"]} for run in loaded))
    rows = {run["model"]: figures([a for a in run["answers"] if a["id"] in shared])
            for run in loaded}
    names = list(rows)
    print(f"{len(shared)} questions every model answered with text")
    print(f"{'':<32}" + "".join(f"{name:>24}" for name in names))
    for key in next(iter(rows.values())):
        print(f"{key:<32}" + "".join(f"{rows[name][key]:>24.3f}" for name in names))


if __name__ == "__main__":
    main()
