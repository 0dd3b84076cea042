"""Retrieval quality and latency: baselines vs. the project's method, one run.

    .venv/bin/python -m benchmarks.retrieval --data-dir DIR QUESTIONS.jsonl [--repeat 3]

The index in DIR must hold the corpus the questions are about (`plantops ingest`).
Baselines use the same index: dense only (global cosine top-k), BM25 only, and
both fused by reciprocal rank; "project" is app.answer.retrieval.Retriever, once with its
fused order only (rerank_depth 0) and once as configured (top units ordered by evidence).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from app.answer.retrieval import Retriever
from app.evaluation import EvalQuestion, first_hit_rank, load_questions
from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings
from ingest.contract import Chunk, DocType
from ingest.search import CandidateSearch

Method = Callable[[str], list[Chunk]]


def score(method: Method, questions: list[EvalQuestion]) -> tuple[float, float]:
    ranks = [first_hit_rank(method(q.question)[:10], q.sources)
             for q in questions if q.answerable]
    recall5 = sum(1 for r in ranks if r and r <= 5) / len(ranks)
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    return recall5, mrr


def baselines(services: Services) -> dict[str, Method]:
    index, lexical, embedder = services.index, services.lexical, services.embedder

    def dense(q: str) -> list[Chunk]:
        vector = embedder.embed_query(q)
        hits = [h for t in DocType for h in index.query(vector, 10, t)]
        return [h.chunk for h in sorted(hits, key=lambda h: -h.similarity)[:10]]

    def bm25(q: str) -> list[Chunk]:
        ids = [i for i, _ in lexical.search(q, 10)]
        found = index.fetch(ids)
        return [found[i][0] for i in ids if i in found]

    def rrf(q: str) -> list[Chunk]:
        scores: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        for ranked in (dense(q), bm25(q)):
            for rank, c in enumerate(ranked):
                scores[c.id] = scores.get(c.id, 0) + 1 / (61 + rank)
                chunks[c.id] = c
        return [chunks[i] for i in sorted(scores, key=lambda i: -scores[i])]

    fused_only = Retriever(embedder, CandidateSearch(index, lexical, services.manifest),
                           services.settings.retrieval.model_copy(update={"rerank_depth": 0}))

    def project_fused(q: str) -> list[Chunk]:
        return [h.chunk for h in fused_only.retrieve(q, k=10)]

    def project(q: str) -> list[Chunk]:
        return [h.chunk for h in services.retriever.retrieve(q, k=10)]

    return {"dense only (cosine)": dense, "BM25 only": bm25, "dense + BM25 (RRF)": rrf,
            "project, fused order": project_fused, "project (+ evidence)": project}


class _Timed:
    """Stands in for one of the retriever's collaborators and times the calls it is asked
    for, so the stages are measured inside a real ``Retriever.retrieve``."""

    def __init__(self, target: object, stages: dict[str, list[float]],
                 names: dict[str, Callable[..., str]]) -> None:
        self._target, self._stages, self._names = target, stages, names

    def __getattr__(self, attr: str) -> object:
        value = getattr(self._target, attr)
        if attr not in self._names:
            return value

        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            result = value(*args, **kwargs)
            name = self._names[attr](*args, **kwargs)
            self._stages.setdefault(name, []).append(time.perf_counter() - started)
            return result
        return timed


def stage_latency(services: Services, questions: list[EvalQuestion], repeat: int) -> None:
    """p50/p95 of the whole retrieval (query embedding included) and of the calls it makes,
    timed as it makes them."""
    stages: dict[str, list[float]] = {}
    search = CandidateSearch(
        _Timed(services.index, stages, {"query": lambda _v, _n, doc_type, *_: f"dense {doc_type}",
                                        "fetch": lambda *_: "fetch BM25-only hits"}),
        _Timed(services.lexical, stages, {
            "search": lambda *_, doc_type=None, **__: f"BM25 {doc_type}",
            "holding": lambda *_: "chunks of a named code",
            "coverages": lambda *_: "coverage (once per candidate)"}),
        services.manifest)  # type: ignore[arg-type]
    retriever = Retriever(
        _Timed(services.embedder, stages, {"embed_query": lambda *_: "query embedding"}),
        search, services.settings.retrieval)  # type: ignore[arg-type]
    for _ in range(repeat):
        for q in questions:
            started = time.perf_counter()
            hits = retriever.retrieve(q.question)
            stages.setdefault("retrieve (all of it)", []).append(time.perf_counter() - started)
            started = time.perf_counter()
            retriever.evidence(q.question, hits)
            stages.setdefault("not-found decision", []).append(time.perf_counter() - started)
            started = time.perf_counter()
            retriever.best_sentences(q.question, hits)
            stages.setdefault("quoted sentences (answers)", []).append(
                time.perf_counter() - started)
    for name, values in stages.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"  {name:<28} p50 {statistics.median(values) * 1000:7.1f} ms   "
              f"p95 {p95 * 1000:7.1f} ms")


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    services = Services(Settings(data_dir=args.data_dir))
    questions = load_questions(args.questions)
    services.ingestor.sync_lexical()
    services.retriever.warm_up()  # as `plantops ui` does at start
    print(f"index: {services.index.count()} chunks; "
          f"{sum(q.answerable for q in questions)} answerable questions\n")
    print(f"{'method':<24}{'recall@5':>10}{'MRR@10':>10}")
    for name, method in baselines(services).items():
        recall5, mrr = score(method, questions)
        print(f"{name:<24}{recall5:>10.3f}{mrr:>10.3f}")
    print("\nlatency of the project's retrieval (2 cores):")
    stage_latency(services, questions, args.repeat)


if __name__ == "__main__":
    main()
