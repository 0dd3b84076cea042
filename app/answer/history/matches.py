"""The answer to a history question: the matching work orders, how each matched, and the
rule that decides a match from its evidence (every word, or close in meaning)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.answer.history.question import HistoryQuestion
from app.settings import HistorySettings
from ingest.records import WorkOrder


@dataclass(frozen=True)
class Match:
    order: WorkOrder
    how: str  # "asset", "words", "meaning"
    similarity: float | None = None


@dataclass(frozen=True)
class History:
    """The answer to a history question: every matching work order, and how it matched."""

    question: HistoryQuestion
    matches: list[Match] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suggestions: dict[str, str] = field(default_factory=dict)  # unknown id -> a known one
    absent: tuple[str, ...] = ()  # subject words no work order holds
    # every work order read from the dense index was close enough: more may be, unread
    open_ended: bool = False
    unlisted: int = 0  # close in meaning too, beyond the ones listed (history.meaning_listed)
    # no work order of the asset matches the subject: the list is the asset's whole history
    whole_asset: bool = False

    @property
    def weak(self) -> bool:
        """The question names something no work order mentions ("demister", "jake"): the
        list matches the rest of it, and may be about something else. (Within one asset's
        work orders a stray word — "crapping out" — does not make it weak.)"""
        return bool(self.absent and self.matches) and not self.question.assets

    @property
    def by_meaning_only(self) -> bool:
        """Across all assets, no work order holds every word of the subject: the list is the
        work orders closest in meaning, which may hold unrelated ones (an oil leak anywhere
        for "swing box leaking oil"), and its length is not a count of that failure."""
        return (bool(self.matches) and not self.question.assets
                and all(m.how == "meaning" for m in self.matches))

    @property
    def count(self) -> int:
        return len(self.matches)

    @property
    def count_label(self) -> str:
        """The count as a reader should take it: "400+" when it is only a lower bound."""
        return f"{self.count}+" if self.open_ended or self.unlisted else str(self.count)

    def cautions(self) -> list[str]:
        """What the reader must know before trusting the list or its count, in sentences."""
        subject = " ".join(self.question.subject)
        out = []
        if self.weak:
            named = ", ".join(f"“{w}”" for w in self.absent)
            out.append(f"No work order mentions {named}. The work orders closest to the rest "
                       "of the question are listed for reference; they may be about something "
                       "else.")
        elif self.by_meaning_only:
            out.append(f"Matched by meaning only: no work order holds every word of "
                       f"“{subject}”. These are the closest in meaning and may include "
                       "unrelated work orders; check each one before counting on it.")
        if self.unlisted:
            out.append(f"{self.unlisted} more work orders are close in meaning and not "
                       "listed. Name an asset or a part to narrow the question.")
        elif self.open_ended:
            out.append(f"At least {self.count}: every one of the {self.count} work orders "
                       "read was this close, so more may match. Name an asset or a part to "
                       "narrow the question.")
        return out

    @property
    def answered(self) -> bool:
        """Whether the logs answer it: something matched and nothing asked is missing."""
        return (bool(self.matches) and not self.question.missing and not self.question.unknown
                and not self.weak)

    def per_asset(self) -> list[tuple[str, int]]:
        """(asset, work orders) most first; orders naming no asset as "(no asset id)"."""
        counts = Counter(m.order.asset or "(no asset id)" for m in self.matches)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def per_month(self) -> list[tuple[str, int]]:
        counts = Counter(m.order.date[:7] for m in self.matches if m.order.date)
        return sorted(counts.items())

    def dates(self) -> tuple[str, str] | None:
        days = sorted(m.order.date for m in self.matches if m.order.date)
        return (days[0], days[-1]) if days else None

    def to_json(self) -> dict[str, object]:
        dates = self.dates()
        return {
            "question": self.question.text, "count": self.count,
            "count_is_lower_bound": self.open_ended or bool(self.unlisted),
            "close_in_meaning_not_listed": self.unlisted,
            "matched_by_meaning_only": self.by_meaning_only, "cautions": self.cautions(),
            "assets": dict(self.per_asset()), "first_date": dates[0] if dates else None,
            "last_date": dates[1] if dates else None, "notes": self.notes,
            "unknown_ids": [u.upper() for u in self.question.unknown],
            "did_you_mean": self.suggestions, "not_in_the_logs": list(self.question.missing),
            "work_orders": [{
                "file": m.order.file, "record_id": m.order.record_id, "asset": m.order.asset,
                "date": m.order.date, "description": m.order.description,
                "action": m.order.action, "symptom": m.order.symptom,
                "component": m.order.component, "matched_by": m.how,
                "similarity": None if m.similarity is None else round(m.similarity, 3)}
                for m in self.grouped()]}

    def grouped(self) -> list[Match]:
        """By asset (most work orders first), newest first within one where dated; else the
        exact matches (every word, asset id) in file order, then those close in meaning,
        closest first — the ones a reader checks first."""
        rank = {asset: n for n, (asset, _) in enumerate(self.per_asset())}
        return sorted(self.matches, key=lambda m: (
            rank[m.order.asset or "(no asset id)"],
            "" if m.order.date is None else _descending(m.order.date),
            m.how == "meaning", -(m.similarity or 0.0) if m.how == "meaning" else 0.0,
            m.order.file, m.order.position))


def _descending(day: str) -> str:
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in day)


@dataclass(frozen=True)
class Evidence:
    """What decides whether one work order matches a question's subject."""

    order: WorkOrder
    similarity: float | None  # to the subject; None: not among the nearest read
    every_word: bool  # it holds every subject word some work order holds


def select(evidence: Sequence[Evidence], settings: HistorySettings) -> list[Match]:
    """The matching work orders: every word, or close in meaning (see the module's text)."""
    top = max((e.similarity for e in evidence if e.similarity is not None), default=None)
    floor = settings.similarity_floor
    worded = sorted(e.similarity for e in evidence if e.every_word and e.similarity is not None)
    if worded and settings.worded_quantile >= 0:  # as similar as the work orders that hold
        floor = max(floor, worded[int(settings.worded_quantile * (len(worded) - 1))])  # the words
    matches = []
    for e in evidence:
        if e.every_word:
            matches.append(Match(e.order, "words", e.similarity))
        elif (e.similarity is not None and top is not None and e.similarity >= floor
              and e.similarity >= top - settings.similarity_window):
            matches.append(Match(e.order, "meaning", e.similarity))
    return matches


