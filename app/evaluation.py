"""Score retrieval (and optionally answers) on a question set.

Question format: ../shared/eval/README.md. A retrieved chunk is a hit when its
file matches a gold source and, where the source names a page or record, the
chunk covers that page or record. Recall@k is per question: did any hit land
in the top k.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.answering import AnswerStatus, Assistant
from app.retrieval import Retriever
from ingest.contract import Chunk


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool
    sources: list[dict[str, Any]]
    answer_contains: list[str] = field(default_factory=list)
    kind: str = ""


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(EvalQuestion(
                id=raw["id"], question=raw["question"], answerable=bool(raw["answerable"]),
                sources=list(raw.get("sources", [])),
                answer_contains=list(raw.get("answer_contains", [])), kind=raw.get("kind", "")))
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


@dataclass
class EvalReport:
    n: int
    recall_at_1: float
    recall_at_k: float
    mrr_at_10: float
    by_kind: dict[str, float]
    abstain_unanswerable: float
    abstain_answerable: float
    k: int = 5
    answers: dict[str, float] | None = None
    misses: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n, "recall@1": self.recall_at_1, f"recall@{self.k}": self.recall_at_k,
            "mrr@10": self.mrr_at_10, "by_kind": self.by_kind,
            "abstain_unanswerable": self.abstain_unanswerable,
            "abstain_answerable": self.abstain_answerable, "misses": self.misses}
        if self.answers is not None:
            out["answers"] = self.answers
        return out


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def evaluate(questions: list[EvalQuestion], retriever: Retriever, k: int = 5,
             assistant: Assistant | None = None) -> EvalReport:
    ranks: dict[str, int | None] = {}
    kinds: dict[str, list[bool]] = defaultdict(list)
    abstain_u, abstain_a = [], []
    for q in questions:
        hits = retriever.retrieve(q.question, k=10)
        abstains = not retriever.is_answerable(q.question, hits[:k])
        if not q.answerable:
            abstain_u.append(abstains)
            continue
        abstain_a.append(abstains)
        rank = first_hit_rank((h.chunk for h in hits), q.sources)
        ranks[q.id] = rank
        kinds[q.kind].append(rank is not None and rank <= k)
    answerable = list(ranks.values())
    return EvalReport(
        n=len(questions),
        recall_at_1=_share([r == 1 for r in answerable]),
        recall_at_k=_share([r is not None and r <= k for r in answerable]),
        mrr_at_10=round(sum(1 / r for r in answerable if r) / max(len(answerable), 1), 4),
        by_kind={kind: _share(flags) for kind, flags in sorted(kinds.items())},
        abstain_unanswerable=_share(abstain_u), abstain_answerable=_share(abstain_a), k=k,
        answers=score_answers(questions, assistant) if assistant else None,
        misses=sorted(qid for qid, r in ranks.items() if r is None or r > k))


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
    return {"answer_contains": _share(contains), "cites_gold": _share(cited_gold),
            "unanswerable_declined": _share(abstained_right)}
