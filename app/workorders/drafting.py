"""A work-order draft from an incident's record, built without a model.

Everything in it is what the incident showed: the asset its questions named, the symptom in
the operator's words (the first question), the fault codes named, the sentences the answers
quoted with their sources, and the safety notices they pinned. The operator adds what was
already done; nothing is written by a model, so nothing needs checking against the pages.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.records.work_orders import Cited, WorkOrderFields
from ingest.tags import asset_tags_in_query, codes_in_query, spellings


@dataclass(frozen=True)
class AnsweredQuestion:
    """One question of an incident and what its answer showed."""

    question: str
    quotes: list[Cited] = field(default_factory=list)
    safety: list[Cited] = field(default_factory=list)


def draft_fields(answers: Sequence[AnsweredQuestion], known: Counter[str],
                 symptom_chars: int = 400) -> WorkOrderFields:
    """The draft of an incident: the first asset its questions name that the work orders
    know (else the first named at all, said unknown by ``asset_problem``), the first question
    as the symptom, and every code, quote and safety notice, in order, without repeats."""
    codes = [c for a in answers for c in _ordered(codes_in_query(a.question), a.question)]
    named = [t for a in answers for t in _ordered(asset_tags_in_query(a.question), a.question)
             if not spellings(t) & set(codes)]  # "E15" said as error 15 is not an asset
    asset = next((t for t in named if t in known), named[0] if named else "")
    symptom = " ".join(answers[0].question.split())[:symptom_chars] if answers else ""
    return WorkOrderFields(
        asset=asset.upper(), symptom=symptom,
        codes=tuple(dict.fromkeys(c.upper() for c in codes)),
        documents=tuple(dict.fromkeys(q for a in answers for q in a.quotes)),
        safety=tuple(dict.fromkeys(s for a in answers for s in a.safety)))


def _ordered(found: set[str], text: str) -> list[str]:
    """``found`` in the order the text names them; a code written otherwise than its
    normal form ("alarm 1" for alarm:1) after the rest."""
    lowered = text.lower().replace("-", "")

    def where(name: str) -> int:
        at = lowered.find(name.replace(":", ""))
        return at if at >= 0 else len(lowered)

    return sorted(found, key=lambda name: (where(name), name))


def asset_problem(asset: str, known: Counter[str]) -> str | None:
    """What is wrong with ``asset`` as a work order's asset, or None: no work order names it
    (with the closest ids they do name), or it is empty."""
    key = asset.strip().lower().replace("-", "").replace(" ", "")
    if not key:
        return ("No asset: the incident names none. Type its asset id, as the work orders "
                "write it.")
    if key in known:
        return None
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = (f" Closest known: {', '.join(c.upper() for c in close)}." if close else
            " No known id is close.")
    return (f"No work order names the asset {asset.strip().upper()}.{hint} Check the id; "
            "a new machine's first work order is confirmed as typed.")
