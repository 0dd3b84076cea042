"""Safety notices in cited passages, pinned above the answer verbatim.

An operator mid-incident must see a WARNING or lockout/tagout instruction from
the manual even when a small model leaves it out of its answer. A question about servicing a
machine that holds energy (replacing a press clutch, clearing a conveyor jam) gets the plant's
own lockout/tagout sentence pinned even when the pages that answer it do not hold one: the
retriever finds it in the plant's safety pages (``Retriever.lockout``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Signal words count as written in manuals (upper case): "a warning light" is not a notice.
_SIGNAL_WORD = re.compile(r"\b(?:DANGER|WARNING|CAUTION)\b")
_LOCKOUT = re.compile(r"\block-?out\s*/\s*tag-?out\b|\bLOTO\b", re.IGNORECASE)
# Work done on a machine, not a setting changed at its panel ("adjust $30" is not servicing).
_SERVICING = re.compile(
    r"\b(?:remov|replac|repair|fix|unjam|jam(?:med|s)?\b|clear(?:ing)?\s+(?:a|the)\s+jam|"
    r"lubricat|greas|disassembl|dismantl|install|servic|maint|realign|tighten|loosen|"
    r"overhaul|rebuild|relin|reach(?:ing)?\s+in|clean(?:ing)?\s+(?:the|out|inside)|"
    r"work(?:ing)?\s+on|chang(?:e|ing)\s+(?:a|the)\s+(?:belt|blade|die|chain|seal|bearing|"
    r"filter|liner|impeller))", re.IGNORECASE)
# Parts and machines that hold energy (moving, pressurised, electrical, stored in springs).
_STORED_ENERGY = re.compile(
    r"\b(?:press(?:es)?|clutch(?:es)?|brakes?|flywheels?|springs?|hydraulics?|pneumatics?|"
    r"accumulators?|conveyors?|motors?|belts?|chains?|gears?|gearbox(?:es)?|blades?|saws?|"
    r"dies?|rams?|shafts?|pumps?|compressors?|fans?|mills?|crushers?|rollers?|rolls?|"
    r"spindles?|cylinders?|boilers?|capacitors?|feeders?|mixers?|agitators?|impellers?|"
    r"bearings?|couplings?|pulleys?|sprockets?|liners?|screens?)\b", re.IGNORECASE)
# "… may be performed without lockout/tagout if …": an exception, not the rule to pin.
_EXCEPTION = re.compile(r"\bwithout\s+lock|\bexcept|\bexempt|\bnot\s+(?:need|requir)",
                        re.IGNORECASE)
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


def about_servicing(text: str) -> bool:
    """Whether ``text`` is about work on a machine that holds energy: a servicing verb and
    a part or machine that moves, is pressurised or stores energy, both named."""
    return bool(_SERVICING.search(text) and _STORED_ENERGY.search(text))


def lockout_sentences(text: str) -> list[str]:
    """The sentences of a passage that state the lockout/tagout rule (not an exception to
    it), as written."""
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    return [s.lstrip("•▪●-–* ")[:_MAX_CHARS] for s in sentences
            if _LOCKOUT.search(s) and not _EXCEPTION.search(s) and len(s.split()) >= 6]


def is_lockout(notice: SafetyNotice) -> bool:
    return bool(_LOCKOUT.search(notice.text))
