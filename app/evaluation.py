"""Score retrieval (and optionally answers) on a question set.

Question format: ../shared/eval/README.md. A retrieved chunk is a hit when its
file matches a gold source and, where the source names a page or record, the
chunk covers that page or record. Recall@k is per question: did any hit land
in the top k. Every figure comes with a 95 % bootstrap interval.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.answer.answering import AnswerStatus, Assistant
from app.answer.evidence import Verdict
from app.answer.history.finder import HistoryFinder
from app.answer.retrieval import Retriever
from ingest.contract import Chunk


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool
    sources: list[dict[str, Any]]
    answer_contains: list[str] = field(default_factory=list)
    kind: str = ""
    # work orders read and judged correct for it (``load_judgements``); None: judge by rule
    judged_correct: frozenset[str] | None = None


@dataclass(frozen=True)
class Judgement:
    """The listed work orders someone read for one question, and those judged correct."""

    correct: frozenset[str]
    read: frozenset[str]


def load_judgements(path: Path) -> dict[str, Judgement]:
    """Reading judgements by question id: ``{"questions": {id: {"correct": [record ids],
    "read": [record ids]}}}`` (benchmarks/history_judgements.json says how they were made)."""
    try:
        questions = json.loads(path.read_text(encoding="utf-8"))["questions"]
        return {q: Judgement(frozenset(j.get("correct", ())), frozenset(j.get("read", ())))
                for q, j in questions.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path.name}: not a judgements file ({exc})") from exc


def load_questions(path: Path, judgements: dict[str, Judgement] | None = None
                   ) -> list[EvalQuestion]:
    """The questions of a JSONL file; with ``judgements``, a log question's listed work orders
    count as correct when gold or judged so on reading (unread ones count as wrong) rather
    than when they hold one of its ``answer_contains`` strings."""
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(EvalQuestion(
                id=raw["id"], question=raw["question"], answerable=bool(raw["answerable"]),
                sources=list(raw.get("sources", [])),
                answer_contains=list(raw.get("answer_contains", [])), kind=raw.get("kind", ""),
                judged_correct=None if judgements is None else (
                    judgements[raw["id"]].correct if raw["id"] in judgements else frozenset())))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path.name} line {n}: not a valid question ({exc})") from exc
    return questions


def is_hit(chunk: Chunk, source: dict[str, Any]) -> bool:
    if chunk.file != source.get("file"):
        return False
    if "page" in source:
        return chunk.page == int(source["page"])
    if "record" in source:
        return chunk.record_id == str(source["record"])
    return True


def first_hit_rank(chunks: Iterable[Chunk], sources: list[dict[str, Any]]) -> int | None:
    """1-based rank of the first chunk that hits any gold source."""
    for rank, chunk in enumerate(chunks, 1):
        if any(is_hit(chunk, s) for s in sources):
            return rank
    return None


@dataclass(frozen=True)
class QuestionResult:
    """One question, scored: what a report and the abstention fit are computed from."""

    id: str
    kind: str
    answerable: bool
    rank: int | None  # 1-based rank of the first gold hit in the top 10 (answerable only)
    verdict: Verdict
    p_answerable: float
    record_recall: float | None  # log questions with gold records: share of them shown
    features: dict[str, float]
    # of the records shown (the whole list for a history question, else the top k): the share
    # that are gold or judged correct (on reading, or holding one of its answer strings)
    record_precision: float | None = None
    history: bool = False  # answered from the work-order records (app.answer.history)


def score_question(q: EvalQuestion, retriever: Retriever, k: int = 5,
                   history: HistoryFinder | None = None) -> QuestionResult:
    """As the Ask tab answers it: retrieval and the not-found decision, or — for a history
    question — the list of work orders and whether the logs answer it."""
    hits = retriever.retrieve(q.question, k=10)
    evidence = retriever.evidence(q.question, hits[:k])
    records = {str(s["record"]) for s in q.sources if "record" in s}
    shown = [(h.chunk.record_id, h.chunk.text) for h in hits[:k] if h.chunk.record_id]
    verdict, routed = evidence.verdict, False
    found = history.answer(q.question, hits[:k]) if history else None
    if found is not None:
        shown = [(m.order.record_id, m.order.description) for m in found.matches]
        verdict = (Verdict.NOT_FOUND if not found.answered
                   else Verdict.WEAK if found.cautions() else Verdict.ANSWER)
        routed = True
    judged = [rid in records or (rid in q.judged_correct if q.judged_correct is not None
                                 else any(a.lower() in text.lower() for a in q.answer_contains))
              for rid, text in shown]
    return QuestionResult(
        q.id, q.kind, q.answerable,
        first_hit_rank((h.chunk for h in hits), q.sources) if q.answerable else None,
        verdict, evidence.p_answerable,
        len(records & {rid for rid, _ in shown}) / len(records)
        if records and q.answerable else None,
        evidence.features,
        _share(judged) if records and q.answerable and shown else
        (0.0 if records and q.answerable else None), routed)


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _metrics(results: Sequence[QuestionResult], k: int) -> dict[str, float]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    records = [r.record_recall for r in answerable if r.record_recall is not None]
    precision = [r.record_precision for r in answerable if r.record_precision is not None]
    return {
        "recall@1": _share([r.rank == 1 for r in answerable]),
        f"recall@{k}": _share([r.rank is not None and r.rank <= k for r in answerable]),
        "mrr@10": _share([1 / r.rank if r.rank else 0.0 for r in answerable]),  # type: ignore[misc]
        "answerable_refused": _share([r.verdict is Verdict.NOT_FOUND for r in answerable]),
        "answerable_weak": _share([r.verdict is Verdict.WEAK for r in answerable]),
        "unanswerable_declined": _share([r.verdict is Verdict.NOT_FOUND for r in unanswerable]),
        "log_record_recall": sum(records) / len(records) if records else float("nan"),
        "log_record_precision": sum(precision) / len(precision) if precision else float("nan"),
        "answered_from_work_orders": _share([r.history for r in results]),
    }


@dataclass
class EvalReport:
    """Figures with 95 % bootstrap intervals (questions resampled with replacement): with a
    few dozen questions a difference inside the interval is noise, not an improvement."""

    n: int
    k: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    by_kind: dict[str, float]
    misses: list[str]
    wrong_decisions: list[str]
    results: list[QuestionResult] = field(default_factory=list, repr=False)
    answers: dict[str, float] | None = None

    @property
    def recall_at_1(self) -> float:
        return self.metrics["recall@1"]

    @property
    def recall_at_k(self) -> float:
        return self.metrics[f"recall@{self.k}"]

    @property
    def mrr_at_10(self) -> float:
        return self.metrics["mrr@10"]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n, **{name: _round(v) for name, v in self.metrics.items()},
            "ci95": {name: [_round(lo), _round(hi)] for name, (lo, hi) in self.intervals.items()},
            "by_kind": {kind: _round(v) for kind, v in self.by_kind.items()},
            "misses": self.misses, "wrong_decisions": self.wrong_decisions}
        if self.answers is not None:
            out["answers"] = self.answers
        return out


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


def bootstrap_intervals(results: Sequence[QuestionResult], k: int, resamples: int = 2000,
                        seed: int = 7) -> dict[str, tuple[float, float]]:
    """Percentile 95 % interval of each metric over ``resamples`` resamplings."""
    rng = random.Random(seed)
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(resamples):
        drawn = rng.choices(results, k=len(results))
        for name, value in _metrics(drawn, k).items():
            if not math.isnan(value):
                samples[name].append(value)
    intervals = {}
    for name, values in samples.items():
        values.sort()
        intervals[name] = (values[int(0.025 * (len(values) - 1))],
                           values[int(0.975 * (len(values) - 1))])
    return intervals


def summarise(results: list[QuestionResult], k: int = 5) -> EvalReport:
    kinds: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.answerable:
            kinds[r.kind].append(r.rank is not None and r.rank <= k)
    return EvalReport(
        n=len(results), k=k, metrics=_metrics(results, k),
        intervals=bootstrap_intervals(results, k),
        by_kind={kind: _share(flags) for kind, flags in sorted(kinds.items())},
        misses=sorted(r.id for r in results if r.answerable and (r.rank is None or r.rank > k)),
        wrong_decisions=sorted(r.id for r in results
                               if (r.verdict is Verdict.NOT_FOUND) == r.answerable),
        results=results)


def evaluate(questions: list[EvalQuestion], retriever: Retriever, k: int = 5,
             assistant: Assistant | None = None,
             history: HistoryFinder | None = None) -> EvalReport:
    report = summarise([score_question(q, retriever, k, history) for q in questions], k)
    report.answers = score_answers(questions, assistant) if assistant else None
    return report


def score_answers(questions: list[EvalQuestion], assistant: Assistant) -> dict[str, float]:
    """Generate answers with the configured LLM; score contents and citations."""
    contains, cited_gold, abstained_right = [], [], []
    for q in questions:
        *_, final = assistant.answer(q.question)
        if not q.answerable:
            abstained_right.append(final.status is AnswerStatus.ABSTAINED
                                   or "not found in the documents" in final.text.lower())
            continue
        text = final.text.lower()
        contains.append(any(s.lower() in text for s in q.answer_contains))
        cited_gold.append(first_hit_rank((c.chunk for c in final.citations), q.sources)
                          is not None)
    return {"answer_contains": _round(_share(contains)), "cites_gold": _round(_share(cited_gold)),
            "unanswerable_declined": _round(_share(abstained_right))}
