"""Safety notices in cited passages, pinned above the answer verbatim.

An operator mid-incident must see a WARNING or lockout/tagout instruction from
the manual even when a small model leaves it out of its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Signal words count as written in manuals (upper case): "a warning light" is not a notice.
_SIGNAL_WORD = re.compile(r"\b(?:DANGER|WARNING|CAUTION)\b")
_LOCKOUT = re.compile(r"\block-?out\s*/\s*tag-?out\b|\bLOTO\b", re.IGNORECASE)
_STUB_CHARS = 40  # "CAUTION Hot surface!" needs its next sentence to say what to do
_MAX_CHARS = 400


@dataclass(frozen=True)
class SafetyNotice:
    text: str
    citation_number: int


def find_notices(passages: list[tuple[int, str]]) -> list[SafetyNotice]:
    """Notices in (citation number, passage text) pairs, in order, without repeats."""
    seen: set[str] = set()
    notices = []
    for number, text in passages:
        sentences = _SENTENCE_END.split(" ".join(text.split()))
        for i, sentence in enumerate(sentences):
            if not (_SIGNAL_WORD.search(sentence) or _LOCKOUT.search(sentence)):
                continue
            notice = sentence
            if len(sentence) < _STUB_CHARS and i + 1 < len(sentences):
                notice += " " + sentences[i + 1]
            notice = notice[:_MAX_CHARS]
            if notice.lower() not in seen:
                seen.add(notice.lower())
                notices.append(SafetyNotice(notice, number))
    return notices
