"""One conversation of the Ask tab as data: its messages and, per answer, what the answer
keeps (sources, quotes, audit row). Plain functions, tested without a browser; stored as JSON
in the user's incidents (app.records.incidents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from app.answer.answering import AnswerStatus, AnswerUpdate
from app.answer.rendering import render_answer
from app.records.audit import SAFETY_FLAG, AuditEntry
from app.records.users import User
from ingest.contract import Chunk, DocType

Message = dict[str, Any]

NO_LONGER_READABLE = ("This document is now in a collection you may not read. Ask an admin if "
                      "you need it.")
WITHDRAWN_ANSWER = ("This answer cited a document in a collection you may no longer read, so "
                      "it is not shown. Ask again for an answer from the documents you may "
                      "read, or ask an admin for access.")


@dataclass(frozen=True)
class AnswerRecord:
    """What one answer of the conversation keeps: its sources, quotes and audit row."""

    question: str
    chunks: list[Chunk] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    quotes: dict[int, str] = field(default_factory=dict)  # citation number -> quoted sentence
    audit_row: int | None = None
    # the safety notices pinned above the answer: (citation number, notice as written)
    safety: list[tuple[int, str]] = field(default_factory=list)


def audit_entry(user: User, question: str, update: AnswerUpdate, model: str) -> AuditEntry:
    labels = [c.label for c in update.citations]
    return AuditEntry(user=user.name, role=user.role, action="ask", question=question,
                      retrieved=labels, cited=[labels[n - 1] for n in update.cited],
                      answer=update.text, status=update.status, model=model,
                      first_token_s=update.timings_s.get("first_token"),
                      total_s=update.timings_s.get("total"),
                      flags=[str(f) for f in update.flags]
                      + (["weak evidence"] if update.weak else [])
                      + [f"[{n}] {hazard}" for n, hazard in update.hazards]
                      # the notices pinned above it, by source (the handover lists them; the
                      # text is the page's, and may hold the "; " the log joins flags with)
                      + [f"{SAFETY_FLAG} [{n}] {labels[n - 1]}" for n in
                         dict.fromkeys(notice.citation_number for notice in update.safety)
                         if 0 < n <= len(labels)])


def record_of(question: str, update: AnswerUpdate, row: int | None = None) -> AnswerRecord:
    return AnswerRecord(question, [c.chunk for c in update.citations],
                        [f"[{c.number}] {c.label}" for c in update.citations],
                        {q.number: q.text for q in reversed(update.quotes)},  # the best wins
                        row, [(n.citation_number, n.text) for n in update.safety])


def stopped_history(history: list[Message], update: AnswerUpdate | None,
                    answer: int) -> list[Message]:
    """The conversation with its streaming answer ended and labelled as stopped."""
    if not history or history[-1].get("role") != "assistant" or update is None:
        return history
    stopped = replace(update, status=AnswerStatus.STOPPED)
    return [*history[:-1], {"role": "assistant", "content": render_answer(stopped, answer)}]


def message_text(content: Any) -> str:
    """A chat message's text: Gradio hands back what it showed as a list of typed parts."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def conversation_to_json(history: list[Message],
                         records: dict[int, AnswerRecord]) -> dict[str, Any]:
    return {"messages": [{"role": m["role"], "content": message_text(m["content"])}
                         for m in history],
            "answers": {str(i): {"question": r.question, "labels": r.labels,
                                 "quotes": {str(n): q for n, q in r.quotes.items()},
                                 "audit_row": r.audit_row,
                                 "safety": [[n, t] for n, t in r.safety],
                                 "chunks": [asdict(c) for c in r.chunks]}
                        for i, r in records.items()}}


def _chunk(stored: dict[str, Any]) -> Chunk:
    return Chunk(**{**stored, "doc_type": DocType(stored["doc_type"]),
                    "equipment_tags": tuple(stored.get("equipment_tags", ())),
                    "fault_codes": tuple(stored.get("fault_codes", ()))})


def conversation_from_json(stored: dict[str, Any]
                           ) -> tuple[list[Message], dict[int, AnswerRecord]]:
    records = {int(i): AnswerRecord(a["question"], [_chunk(c) for c in a["chunks"]],
                                    list(a["labels"]),
                                    {int(n): q for n, q in a["quotes"].items()},
                                    a["audit_row"],
                                    [(int(n), str(t)) for n, t in a.get("safety", [])])
               for i, a in stored.get("answers", {}).items()}
    return list(stored.get("messages", [])), records


def withdrawn(stored: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """A stored conversation as a reader who may not read the ``hidden`` files may see it:
    each answer that cited one of them is replaced by a notice saying so (its question
    stays: the reader's own words), its sources and quotes dropped. Rights change after an
    incident was saved; reopening it must not show what they no longer allow."""
    if not hidden:
        return stored
    answers = stored.get("answers", {})
    gone = {int(i) for i, a in answers.items()
            if any(c.get("file") in hidden for c in a.get("chunks", []))}
    if not gone:
        return stored
    messages = [{**m, "content": WITHDRAWN_ANSWER} if n in gone else m
                for n, m in enumerate(stored.get("messages", []))]
    return {**stored, "messages": messages,
            "answers": {i: a for i, a in answers.items() if int(i) not in gone}}


def with_withheld(conversation: dict[str, Any],
                  stored: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """The conversation to save, with each answer ``withdrawn`` withheld from this reader put
    back as it was ``stored`` (read only when there is one): rights may be given back, and
    the incident is the operator's record — withholding an answer must not delete it."""
    if not any(m.get("role") == "assistant" and m.get("content") == WITHDRAWN_ANSWER
               for m in conversation["messages"]):
        return conversation
    kept = stored()
    if kept is None:
        return conversation
    old_messages, old_answers = kept.get("messages", []), kept.get("answers", {})
    messages, answers = [], dict(conversation["answers"])
    for n, message in enumerate(conversation["messages"]):
        if (message.get("role") == "assistant" and message.get("content") == WITHDRAWN_ANSWER
                and str(n) in old_answers and n < len(old_messages)):
            messages.append(old_messages[n])
            answers[str(n)] = old_answers[str(n)]
        else:
            messages.append(message)
    return {**conversation, "messages": messages, "answers": answers}
