"""The pages' own instructions for "what should I do" questions: how often the quoted evidence
holds the expected answer with and without them, and what they cost.

    .venv/bin/python -m benchmarks.steps --data-dir DIR QUESTIONS.jsonl [...] [--show 5]

The index in DIR must hold the corpus the questions are about (`plantops ingest`). For each
answerable question that asks what to do (app.answer.steps.asks_what_to_do): the top passages,
the quotes, and the instruction sentences added under them. "Holds the answer" is the eval's
own test: one of the question's ``answer_contains`` strings in the text (case folded).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.answer.steps import asks_what_to_do
from app.evaluation import load_questions
from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings
from ingest.hazards import hazards_in


def _holds(texts: list[str], wanted: list[str]) -> bool:
    joined = " ".join(texts).lower()
    return any(w.lower() in joined for w in wanted)


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--show", type=int, default=0, help="print this many examples per set")
    parser.add_argument("--share", type=float, help="try another app.answer.retrieval."
                        "_STEP_SHARE (fit on dev only)")
    args = parser.parse_args()
    if args.share is not None:
        import app.answer.retrieval

        app.answer.retrieval._STEP_SHARE = args.share
    retriever = Services(Settings(data_dir=args.data_dir)).retriever
    retriever.retrieve("warm up")
    for path in args.questions:
        asked = [q for q in load_questions(path) if q.answerable and q.answer_contains
                 and asks_what_to_do(q.question)]
        quoted = with_steps = given = unsafe = 0
        seconds: list[float] = []
        shown = 0
        for q in asked:
            hits = retriever.retrieve(q.question)
            started = time.perf_counter()
            quotes, steps = retriever.quotes_and_steps(q.question, hits)
            seconds.append(time.perf_counter() - started)
            quoted += _holds([s for _, s in quotes], q.answer_contains)
            with_steps += _holds([s for _, s in quotes + steps], q.answer_contains)
            given += bool(steps)
            unsafe += sum(1 for _, s in steps if hazards_in(s))
            if steps and shown < args.show:
                shown += 1
                print(f"  {q.id} {q.question}")
                for i, s in steps:
                    print(f"    step [{i + 1}] {s[:160]}")
        n = max(len(asked), 1)
        seconds.sort()
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))] if seconds else 0
        print(f"{path.name}: {len(asked)} answerable questions ask what to do; steps given on "
              f"{given}; evidence holds the answer: quotes {quoted / n:.3f} -> quotes + steps "
              f"{with_steps / n:.3f}; steps defeating a safety device: {unsafe}; quotes and "
              f"steps p95 {1000 * p95:.0f} ms")


if __name__ == "__main__":
    main()
