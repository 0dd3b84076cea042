"""Does a collection filter cost a reader recall? A reader who may not read some documents,
searching the whole index, against an index that holds only the documents they may read.

    .venv/bin/python -m benchmarks.collections_recall --data-dir DIR --subset-dir DIR2 \\
        --corpus ../shared/corpus/manuals ../shared/corpus/logs \\
        --questions ../shared/eval/dev.jsonl ../shared/eval/confirm.jsonl

DIR holds the whole corpus (as `plantops ingest` builds it; built here when empty); DIR2 is
built here from the corpus minus the hidden files (kept: a second run skips the build). The
questions scored are the answerable ones whose gold sources are all readable. Forbidden
documents are left out inside each search, so the reader's top k should be the subset
index's: the figures should agree within noise (word statistics of BM25 and coverage are
still those of the whole index — the only difference by design).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.answer.retrieval import Retriever
from app.evaluation import EvalQuestion, EvalReport, evaluate, load_questions
from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings
from ingest.discovery import discover_sources

# Default hidden set: one vendor's manuals and one company's work orders (a contractor kept
# out of a vendor's documents and another site's records).
HIDDEN_PREFIXES = ("klipper_", "work_orders_company_c")


def _services(data_dir: Path) -> Services:
    return Services(Settings(data_dir=data_dir))


def _ensure_index(services: Services, paths: list[Path]) -> None:
    if services.manifest.entries():
        return
    report = services.ingestor.ingest(paths)
    if report.exit_code:
        raise SystemExit(f"ingest into {services.settings.data_dir} failed: {report.failed}")


REPEAT = 3


def _latency(retriever: Retriever, questions: list[str]) -> tuple[float, float]:
    """p50 and p95 of one retrieval, in ms, each question ``REPEAT`` times after one warm-up
    pass."""
    for question in questions:
        retriever.retrieve(question)
    times = []
    for _ in range(REPEAT):
        for question in questions:
            started = time.perf_counter()
            retriever.retrieve(question)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(0.95 * (len(times) - 1))]


def _line(label: str, report: EvalReport) -> str:
    low, high = report.intervals.get("recall@5", (float("nan"), float("nan")))
    return (f"{label:<38} recall@5 {report.recall_at_k:.3f} [{low:.3f}, {high:.3f}]  "
            f"MRR@10 {report.mrr_at_10:.3f}")


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--subset-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, nargs="+", required=True)
    parser.add_argument("--questions", type=Path, nargs="+", required=True)
    parser.add_argument("--hidden-prefix", nargs="+", default=list(HIDDEN_PREFIXES))
    args = parser.parse_args()

    sources, _ = discover_sources(args.corpus)
    hidden = frozenset(s.name for s in sources if s.name.startswith(tuple(args.hidden_prefix)))
    readable = [s.path for s in sources if s.name not in hidden]
    full, subset = _services(args.data_dir), _services(args.subset_dir)
    _ensure_index(full, args.corpus)
    _ensure_index(subset, readable)
    print(f"hidden: {len(hidden)} of {len(sources)} files ({', '.join(sorted(hidden))})")
    reader = full.retriever.for_reader(hidden)
    for path in args.questions:
        questions: list[EvalQuestion] = [
            q for q in load_questions(path) if q.answerable and q.sources
            and all(s.get("file") not in hidden for s in q.sources)]
        filtered = evaluate(questions, reader)
        alone = evaluate(questions, subset.retriever)
        ranks = {r.id: r.rank for r in alone.results}
        differ = sum(r.rank != ranks[r.id] for r in filtered.results)
        print(f"{path.name}: {len(questions)} answerable questions with readable gold")
        print("  " + _line("reader with hidden files, whole index", filtered))
        print("  " + _line("index of the readable files only", alone))
        ratio = filtered.recall_at_k / max(alone.recall_at_k, 1e-9)
        print(f"  first-gold rank differs on {differ} of {len(questions)} questions; "
              f"recall@5 ratio {ratio:.3f}")
        texts = [q.question for q in questions]
        plain, hiding = _latency(full.retriever, texts), _latency(reader, texts)
        print(f"  retrieval on the whole index ({full.index.count()} passages), warm, "
              f"{len(texts)} questions x {REPEAT}: p50 {plain[0]:.0f} ms, p95 {plain[1]:.0f} ms "
              f"unfiltered; p50 {hiding[0]:.0f} ms, p95 {hiding[1]:.0f} ms with the reader's "
              f"filter (p95 ratio {hiding[1] / plain[1]:.2f})")


if __name__ == "__main__":
    main()
