"""How well the sentence-level check marks the model's sentences that its cited pages do not
support, against labels made by reading (benchmarks/sentence_support_labels.json).

Two steps. ``collect`` asks the configured model (the CPU vLLM with SmolLM2 by default) the
answerable questions of a set, through the whole answer path, and writes each finished answer
with the passages it was given (chunk ids) and its sentences, unlabelled. A person then reads
each sentence against those passages and labels it ``supported`` (it says what a passage says,
or says nothing checkable: "Follow these steps:") or ``unsupported`` (a claim, step or value
no passage given states). ``score`` re-reads the passages from the index by id, runs the check
(app.answer.support) and prints precision and recall of its marks per set, with bootstrap
95 % intervals, and the time the check adds after the stream ends.

    .venv/bin/python -m benchmarks.sentence_support collect --data-dir /tmp/eval \\
        --questions ../shared/eval/dev.jsonl --set dev --out /tmp/support-dev.json
    .venv/bin/python -m benchmarks.sentence_support score --data-dir /tmp/eval
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from app.answer.answering import AnswerStatus
from app.answer.support import answer_sentences
from app.evaluation import load_questions
from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings

LABELS = Path(__file__).with_name("sentence_support_labels.json")


def collect(args: argparse.Namespace) -> None:
    services = Services(Settings(data_dir=args.data_dir))
    answers = []
    questions = [q for q in load_questions(args.questions) if q.answerable]
    for n, q in enumerate(questions[::args.every], 1):
        *_, final = services.assistant.answer(q.question)
        if final.status not in (AnswerStatus.COMPLETE, AnswerStatus.INCOMPLETE) or not final.text:
            print(f"{n:>3} {q.id}: {final.status.value}, no model text")
            continue
        answers.append({
            "set": args.set, "id": q.id, "question": q.question, "answer": final.text,
            "passages": {str(c.number): c.chunk.id for c in final.citations},
            # what benchmarks.model_compare reads: how the answer ended and what was flagged
            "status": final.status.value, "notice": final.notice,
            "flags": [f.kind for f in final.flags],
            "first_token_s": final.timings_s.get("first_token"),
            "total_s": final.timings_s.get("total"),
            "sentences": [{"text": s.text, "label": None}
                          for s in answer_sentences(final.text)]})
        print(f"{n:>3} {q.id}: {len(answers[-1]['sentences'])} sentences")
        args.out.write_text(json.dumps({"model": services.assistant.model_name,
                                        "answers": answers}, indent=1, ensure_ascii=False)
                            + "\n", encoding="utf-8")  # each answer kept as it comes
    print(f"{len(answers)} answers written to {args.out}")


def _share(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def _interval(pairs: list[tuple[bool, bool]], which: str, resamples: int = 2000
              ) -> tuple[float, float]:
    """Bootstrap 95 % interval of precision or recall over (marked, unsupported) pairs."""
    rng = random.Random(7)
    values = []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        hit = sum(m and u for m, u in sample)
        base = sum(m for m, _ in sample) if which == "precision" else sum(u for _, u in sample)
        if base:
            values.append(hit / base)
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def _table(by_set: dict[str, list[tuple[bool, bool]]]) -> None:
    print(f"{'set':<8} {'sentences':>9} {'unsupp.':>7} {'marked':>6} {'precision':>22} "
          f"{'recall':>22} {'supported marked':>16}")
    for name, pairs in by_set.items():
        hit = sum(m and u for m, u in pairs)
        marked, unsupported = sum(m for m, _ in pairs), sum(u for _, u in pairs)
        p, r = _share(hit, marked), _share(hit, unsupported)
        (pl, ph), (rl, rh) = _interval(pairs, "precision"), _interval(pairs, "recall")
        print(f"{name:<8} {len(pairs):>9} {unsupported:>7} {marked:>6} "
              f"{p:>6.3f} [{pl:.3f}, {ph:.3f}] {r:>6.3f} [{rl:.3f}, {rh:.3f}] "
              f"{marked - hit:>9} of {len(pairs) - unsupported}")


def _f1(pairs: list[tuple[bool, bool]]) -> float:
    hit = sum(m and u for m, u in pairs)
    marked, unsupported = sum(m for m, _ in pairs), sum(u for _, u in pairs)
    return 2 * hit / (marked + unsupported) if marked + unsupported else 0.0


def score(args: argparse.Namespace) -> None:
    labels: dict[str, Any] = json.loads(args.labels.read_text(encoding="utf-8"))
    services = Services(Settings(data_dir=args.data_dir))
    retriever = services.retriever
    rows: list[tuple[str, str, str, float, float]] = []  # set, id, sentence, sim, coverage
    truth: dict[tuple[str, str], str] = {}
    seconds: list[float] = []
    for item in labels["answers"]:
        found = services.index.fetch(list(item["passages"].values()))
        passages = {int(n): found[cid][0] for n, cid in item["passages"].items() if cid in found}
        if len(passages) < len(item["passages"]):
            print(f"{item['id']}: {len(item['passages']) - len(passages)} passages not in "
                  "this index (re-collect after re-indexing)")
        check = retriever.support_check
        # as in the answer path: the passages, and each sentence the model has finished, are
        # embedded while it writes; after the stream the check embeds its last sentence
        check.prepare(list(passages.values()))
        check.prepare_sentences(item["answer"])
        check.ready()
        started = time.perf_counter()
        scored = check.scores(item["answer"], passages)
        seconds.append(time.perf_counter() - started)
        rows += [(item["set"], item["id"], s.text, sim, cov) for s, sim, cov in scored]
        truth.update({(item["id"], s["text"]): s["label"] for s in item["sentences"]})
    print(f"model {labels['model']}; check after the stream: median "
          f"{statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
          f"({len(seconds)} answers)")
    labelled = [(r, truth[r[1], r[2]]) for r in rows if truth.get((r[1], r[2])) in
                ("supported", "unsupported")]
    no_claim = [r for r in rows if truth.get((r[1], r[2])) == "no claim"]

    def pairs(similarity_below: float, coverage_below: float, name: str
              ) -> list[tuple[bool, bool]]:
        return [(sim < similarity_below and cov < coverage_below, label == "unsupported")
                for (set_, _, _, sim, cov), label in labelled if set_ == name]

    shipped = services.settings.retrieval
    thresholds = (shipped.support_similarity_below, shipped.support_coverage_below)
    if args.fit:  # on dev only: of the grid points within 0.01 of the best F1 (noise on a
        # set this size), the one that marks least — a wrong mark on a right sentence costs
        # the operator's trust in every mark
        grid = [(s / 100, c / 100) for s in range(20, 91, 2) for c in range(5, 101, 5)]
        best = max(_f1(pairs(*t, "dev")) for t in grid)
        thresholds = min((t for t in grid if _f1(pairs(*t, "dev")) >= best - 0.01),
                         key=lambda t: (sum(m for m, _ in pairs(*t, "dev")), t))
        print(f"fitted on dev: similarity below {thresholds[0]}, coverage below "
              f"{thresholds[1]} (configured: {shipped.support_similarity_below}, "
              f"{shipped.support_coverage_below})")
    sets = list(dict.fromkeys(r[0] for r, _ in labelled))
    _table({name: pairs(*thresholds, name) for name in sets})
    marked_no_claim = sum(sim < thresholds[0] and cov < thresholds[1]
                          for _, _, _, sim, cov in no_claim)
    print(f"sentences without a claim ('Follow these steps:'), not scored: {len(no_claim)}, "
          f"{marked_no_claim} of them marked")
    if args.verbose:
        for (_, qid, text, sim, cov), label in labelled:
            marked = sim < thresholds[0] and cov < thresholds[1]
            if marked != (label == "unsupported"):
                print(f"  {qid} {'marked' if marked else 'missed'} sim {sim:.2f} cov "
                      f"{cov:.2f}: {text[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    c = sub.add_parser("collect", help="answer the questions; write unlabelled sentences")
    c.add_argument("--data-dir", type=Path, required=True)
    c.add_argument("--questions", type=Path, required=True)
    c.add_argument("--set", required=True, help="the name the labels file gives this set")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--every", type=int, default=1,
                   help="every Nth answerable question (a spread over the set's kinds)")
    s = sub.add_parser("score", help="precision and recall of the marks on the labels")
    s.add_argument("--data-dir", type=Path, required=True)
    s.add_argument("--labels", type=Path, default=LABELS)
    s.add_argument("--verbose", action="store_true", help="list each wrong mark")
    s.add_argument("--fit", action="store_true",
                   help="choose the two thresholds by F1 on the dev set (then confirm)")
    args = parser.parse_args()
    enforce_offline()
    {"collect": collect, "score": score}[args.step](args)


if __name__ == "__main__":
    main()
