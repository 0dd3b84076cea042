"""History, list and count questions, answered from the work-order records.

"What has been done on QR0218?", "how many times has a machine needed a jump start?",
"parkbrake door alarm keeps playing up - been fixed on other trucks b4?": retrieval shows the
best five passages and a model guesses a number; here the answer is the complete list of
matching work orders, grouped by asset, counted, each one cited.

Matching (``HistoryFinder.find``), on the records ingest keeps (``ingest.records``):

1. The asset ids the question names pick that asset's work orders; an id no work order
   carries is reported ("no work order names PH693; did you mean PH639?"), not guessed.
2. The rest of the question, minus its history phrasing ("which work orders", "seen b4?"),
   is the subject. No subject: the asset's whole history.
3. A work order matches the subject when its normalised text (abbreviations expanded) holds
   every subject word (stemmed, Snowball; a shortened form counts), or when it is close in
   meaning: dense similarity at least ``similarity_floor``, within ``similarity_window`` of the
   best work order, and at least the ``worded_quantile`` of the similarities of the work
   orders holding every word. The numbers are fitted on the development questions
   (benchmarks/fit_history.py, docs/retrieval.md); each match says which way it matched.
   The count is always the length of that list: "how many" needs nothing else.

What the logs do not hold (who did a job, its cost, the downtime) is said, with the records
that match the rest of the question listed for reference.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import snowballstemmer

from app.settings import HistorySettings
from ingest.contract import DocType
from ingest.lexicon import Lexicon
from ingest.records import Snapshot, WorkOrder, WorkOrderStore
from ingest.tags import identifiers_in_query

if TYPE_CHECKING:
    from ingest.embedding import Embedder
    from ingest.search import Candidate, CandidateSearch

# Phrasing that asks for the record rather than for how to fix something.
_HISTORY = re.compile(
    r"\b(how\s+many\s+(?:times|work|jobs|machines|trucks|units)|how\s+often\s+(?:has|have|did)|"
    r"history|histories|happened\s+before|seen\s+(?:\w+\s+)?before|"
    r"b4|been\s+done|work\s*orders?|on\s+record|logged|record\s+of|"
    r"previous|been\s+fixed|been\s+replaced|been\s+wrong|change[\s-]?outs?|"
    r"which\s+(?:trucks?|machines?|units?|assets?|excavators?|loaders?|shovels?|drills?))\b",
    re.IGNORECASE)
# Words that ask for the record in "radiator jobs" or "past jobs" but are everyday words in
# a question about the manuals ("alm1 mid job", "how do I get past it", "past the rings",
# "which jobs count as servicing"): they route a question only when the passage retrieval
# ranks first for it is a work order.
_HISTORY_LOOSE = re.compile(r"\b(jobs?|past|before\?)(?=\W|$)", re.IGNORECASE)
# Asking how to do something or for a value: work orders hold neither, so finding only work
# orders for such a question ("how much deflection should a V-belt have") does not make it a
# history question; retrieval's not-found decision answers it.
_INSTRUCTION = re.compile(
    r"\b(how\s+(?:do|does|should|to|can|much|far|high|long|tight)\b(?!\s+(?:times|did|has|have))|"
    r"what\s+(?:is|are|should)\s+the|should\s+(?:i|we|it|be)|recommended|spec|specs|"
    r"tolerances?|interval)\b", re.IGNORECASE)
# Words of the history phrasing and of the question's grammar: not the subject.
_NOT_SUBJECT_WORDS = """
a again an and any anyone anything are as at b4 be been before booked by can could did do
does done else etc ever for from get got had happen happened has have history how i if in
into is it its job jobs just keep keeps kept last like list logged lol machine machines
many me mention mentioned mentions much my need needed needs no of often on one or order orders
other others our out over past please pls previous record records report reported reports
s seen show so some something than that the their them then there these they this those
times to truck trucks unit units up was wat we were what whats when where which who why
will with work wrong you your
acting crapping issue issues playing problem problems probs trouble
"""
_NOT_SUBJECT = frozenset(_NOT_SUBJECT_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
# What a question may ask that a work-order export rarely holds, and the columns that would.
MISSING_DATA = {
    "who did the work": (re.compile(r"\b(who|which\s+(fitter|tech\w*|mechanic|electrician|"
                                    r"person|guy|crew))\b", re.IGNORECASE),
                         ("technician", "fitter", "assigned_to", "performed_by", "crew",
                          "mechanic")),
    "cost": (re.compile(r"\b(cost|costs|price|\$|dollars?|how\s+much\s+did)\b", re.IGNORECASE),
             ("cost", "total_cost", "labour_cost", "material_cost", "price")),
    "downtime": (re.compile(r"\b(downtime|down\s+time|how\s+long\s+(was|were)\s+\w+\s+down)\b",
                            re.IGNORECASE), ("downtime", "downtime_hours", "hours_down")),
}


_STEMMING = threading.Lock()


@functools.lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball's English stem. One stemmer object keeps its word in itself while it works, so
    questions answered at once take turns (seen under load: IndexError inside the stemmer)."""
    with _STEMMING:
        return str(_stemmer().stemWord(word))


def words_of(normalised: str) -> list[str]:
    """Stemmed words of normalised text ("brakes dragging" -> ["brake", "drag"])."""
    return [stem(w) for w in _WORD.findall(normalised)]


@dataclass(frozen=True)
class HistoryQuestion:
    text: str
    assets: tuple[str, ...] = ()  # normalised ids work orders carry: qr0218
    unknown: tuple[str, ...] = ()  # ids named that no work order carries
    subject: tuple[str, ...] = ()  # the words the work orders must match, normalised
    missing: tuple[str, ...] = ()  # what the question asks that the logs do not hold
    # subject words the question joins with "or" ("smashed or broken mirror"): either will do
    alternatives: tuple[tuple[str, str], ...] = ()


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
        return f"{self.count}+" if self.open_ended else str(self.count)

    def cautions(self) -> list[str]:
        """What the reader must know before trusting the list or its count, in sentences."""
        subject = " ".join(self.question.subject)
        out = []
        if self.weak:
            named = ", ".join(f"“{w}”" for w in self.absent)
            out.append(f"Weak match: no work order mentions {named}. These match the rest of "
                       "the question and may be about something else.")
        elif self.by_meaning_only:
            out.append(f"Matched by meaning only: no work order holds every word of "
                       f"“{subject}”. These are the closest in meaning and may include "
                       "unrelated work orders; check each one before counting on it.")
        if self.open_ended:
            out.append(f"At least {self.count}: every one of the {self.count} work orders "
                       "read was this close, so more may match. Name an asset or a part to "
                       "narrow the question.")
        return out

    @property
    def answered(self) -> bool:
        """Whether the logs answer it: something matched and nothing asked is missing."""
        return bool(self.matches) and not self.question.missing and not self.question.unknown

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
            "count_is_lower_bound": self.open_ended,
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


@dataclass(frozen=True)
class _Terms:
    """The stemmed words of every live work order, and how many orders hold each word."""

    version: str
    words: list[frozenset[str]]
    frequency: Counter[str]

    def forms(self, word: str) -> frozenset[str]:
        """The work orders' words that stand for ``word``: itself, and those of four letters
        or more that it begins with, as work orders shorten words ("turbo" for turbocharger,
        "nois" of "noisey" for noisy). Empty: no work order holds it in any form."""
        return frozenset(word[:n] for n in range(min(4, len(word)), len(word) + 1)
                         if self.frequency.get(word[:n]))


class HistoryFinder:
    def __init__(self, store: WorkOrderStore, search: CandidateSearch, embedder: Embedder,
                 lexicon: Lexicon, settings: HistorySettings) -> None:
        self._store = store
        self._search = search
        self._embedder = embedder
        self._lexicon = lexicon
        self._settings = settings
        self._terms = _Terms("", [], Counter())

    def _snapshot(self) -> tuple[Snapshot, _Terms]:
        snapshot = self._store.snapshot()
        if self._terms.version != snapshot.version:
            words = [frozenset(words_of(o.normalised)) for o in snapshot.orders]
            self._terms = _Terms(snapshot.version, words,
                                 Counter(w for ws in words for w in ws))
        return snapshot, self._terms

    def recognise(self, question: str, work_orders_only: bool = False,
                  work_order_first: bool = False) -> HistoryQuestion | None:
        """The question as a history question, or None when it is not one: no work orders are
        indexed, or it neither names an asset the work orders carry nor asks for a history,
        a list or a count. An id that no document carries and that is one slip from an
        asset's ("QR0281" for QR0218) also makes it one: the answer is that no work order
        names it. ``work_orders_only``: retrieval found only work orders for it ("jake brake
        not working"), so the complete list answers it better than five of them.
        ``work_order_first``: its best passage is a work order, so "jobs" or "past" in it ask
        for the record."""
        if not self._settings.enabled:
            return None
        snapshot, _ = self._snapshot()
        if not snapshot.orders:
            return None
        known = snapshot.assets
        named = sorted(n for n in identifiers_in_query(question) if ":" not in n)
        assets = tuple(n for n in named if n in known)
        unknown = tuple(n for n in named if n not in known)
        typo = any(self._closest(u, known) and not self._search.document_frequency(u)
                   for u in unknown)
        worded = _HISTORY.search(question) or (work_order_first
                                               and _HISTORY_LOOSE.search(question))
        if not (assets or typo or work_orders_only or worded):
            return None
        subject, alternatives = self._subject(question, named)
        return HistoryQuestion(
            text=question, assets=assets, unknown=unknown, subject=subject,
            alternatives=alternatives,
            missing=tuple(what for what, (pattern, columns) in MISSING_DATA.items()
                          if pattern.search(question)
                          and not snapshot.columns & set(columns)))

    def route(self, question: str, hits: Sequence[Candidate]) -> HistoryQuestion | None:
        """The question as a history question, given what retrieval found for it (its top
        passages): by its wording, or because every one of them is a work order."""
        recognised = self.recognise(
            question, work_order_first=bool(hits) and hits[0].chunk.doc_type is DocType.LOG)
        if (recognised is None and hits and not _INSTRUCTION.search(question)
                and all(h.chunk.doc_type is DocType.LOG for h in hits)):
            recognised = self.recognise(question, work_orders_only=True)
        return recognised

    def _subject(self, question: str, ids: Sequence[str]
                 ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """The subject's words, and the pairs of them the question joins with "or" (the
        nearest subject word either side: "bent or damaged rock ejectors", "inspections or
        leaks")."""
        text = _HISTORY_LOOSE.sub(" ", _HISTORY.sub(" ", self._lexicon.normalise(question)))
        for pattern, _ in MISSING_DATA.values():
            text = pattern.sub(" ", text)
        tokens = _WORD.findall(text)
        kept = [w not in _NOT_SUBJECT and w not in ids and not w.isdigit() for w in tokens]
        pairs = []
        for i, word in enumerate(tokens):
            if word != "or":
                continue
            before = next((tokens[j] for j in range(i - 1, -1, -1) if kept[j]), None)
            after = next((tokens[j] for j in range(i + 1, len(tokens)) if kept[j]), None)
            if before and after and before != after:
                pairs.append((before, after))
        return tuple(w for w, keep in zip(tokens, kept, strict=True) if keep), tuple(pairs)

    @staticmethod
    def _groups(question: HistoryQuestion, subject: list[str]) -> list[frozenset[str]]:
        """The subject's (stemmed) words as groups a work order must hold one word of: a word
        alone, or the words the question joins with "or"."""
        groups = {w: frozenset({w}) for w in subject}
        for a, b in question.alternatives:
            left, right = words_of(a), words_of(b)
            if len(left) == len(right) == 1 and left[0] in groups and right[0] in groups:
                joined = groups[left[0]] | groups[right[0]]
                groups |= dict.fromkeys(joined, joined)
        return list(dict.fromkeys(groups[w] for w in subject))

    @staticmethod
    def _closest(unknown: str, known: Counter[str]) -> str | None:
        """The known asset id one slip away (a swapped or mistyped character), if any."""
        close = difflib.get_close_matches(unknown, list(known), n=1, cutoff=0.8)
        return close[0] if close else None

    def pool(self, question: HistoryQuestion) -> tuple[list[tuple[int, WorkOrder]], _Terms]:
        """The work orders a question is about (its assets', or all), with their places in
        the snapshot, and the snapshot's words."""
        snapshot, terms = self._snapshot()
        if not question.assets:
            return list(enumerate(snapshot.orders)), terms
        wanted = set(question.assets)
        return [(i, o) for i, o in enumerate(snapshot.orders) if wanted & set(o.assets)], terms

    def find(self, question: HistoryQuestion) -> History:
        snapshot, _ = self._snapshot()
        suggestions = {u: c.upper() for u in question.unknown
                       if (c := self._closest(u, snapshot.assets))}
        notes: list[str] = []
        if question.unknown and not question.assets:
            return History(question, [], notes, suggestions)
        pool, terms = self.pool(question)
        if not question.subject:
            return History(question, [Match(o, "asset") for _, o in pool], notes, suggestions)
        evidence = self.evidence(question, pool, terms)
        matches = select(evidence, self._settings)
        held = {w for w in question.subject
                if any(terms.forms(p) for p in self._split([stem(w)], terms))}
        either = {a: b for pair in question.alternatives for a, b in (pair, pair[::-1])}
        absent = tuple(w for w in question.subject if w not in held and either.get(w) not in held)
        if not matches and question.assets:
            names = ", ".join(a.upper() for a in question.assets)
            notes.append(f"No work order of {names} mentions “{' '.join(question.subject)}”: "
                         "all of its work orders are listed.")
            matches = [Match(o, "asset") for _, o in pool]
        return History(question, matches, notes, suggestions, absent,
                       open_ended=self._open_ended(question, evidence, matches))

    def _open_ended(self, question: HistoryQuestion, evidence: Sequence[Evidence],
                    matches: Sequence[Match]) -> bool:
        """Whether the least similar of the ``nearest`` work orders read still matched in
        meaning: then the threshold lies beyond what was read, and the count is a lower
        bound. (An asset's work orders are all read.)"""
        read = [e for e in evidence if e.similarity is not None]
        if question.assets or len(read) < self._settings.nearest:
            return False
        last = min(read, key=lambda e: e.similarity or 0.0).order
        return any(m.order is last and m.how == "meaning" for m in matches)

    def evidence(self, question: HistoryQuestion, pool: list[tuple[int, WorkOrder]],
                 terms: _Terms) -> list[Evidence]:
        """How well each work order of ``pool`` matches the question's subject."""
        subject = self._split(words_of(" ".join(question.subject)), terms)
        forms = {w: terms.forms(w) for w in subject}
        groups = [frozenset(w for w in group if forms[w])
                  for group in self._groups(question, subject)]
        known = [group for group in groups if group]
        # across all assets every word (or one of "a or b") must be held; within one asset's
        # orders, the known ones
        wanted = known if question.assets or len(known) == len(groups) else []
        similar = self._similarities(question, pool)
        return [Evidence(order, similar.get((order.file, order.record_id)),
                         bool(wanted) and all(any(forms[w] & terms.words[i] for w in group)
                                              for group in wanted))
                for i, order in pool]

    def _similarities(self, question: HistoryQuestion, pool: list[tuple[int, WorkOrder]]
                      ) -> dict[tuple[str, str], float]:
        vector = self._embedder.embed_query(" ".join(question.subject))
        if not question.assets:
            return self._search.similar_work_orders(vector, self._settings.nearest)
        found: dict[tuple[str, str], float] = {}
        for asset in question.assets:
            found |= self._search.similar_work_orders(vector, len(pool), asset)
        return found

    @staticmethod
    def _split(words: list[str], terms: _Terms) -> list[str]:
        """A word no work order holds, split where both halves are words they hold:
        "parkbrake" -> "park", "brake"; "jumpstart" -> "jump", "start"."""
        out: list[str] = []
        for word in words:
            if terms.frequency.get(word):
                out.append(word)
                continue
            for cut in range(3, len(word) - 2):
                left, right = stem(word[:cut]), stem(word[cut:])
                if terms.frequency.get(left) and terms.frequency.get(right):
                    out += [left, right]
                    break
            else:
                out.append(word)
        return list(dict.fromkeys(out))

    def asset_history(self, asset: str, words: str = "", component: str = "") -> History:
        """An asset's whole history for the Search view and the CLI, optionally narrowed to
        work orders holding every one of ``words`` / naming ``component``."""
        asset = asset.strip().lower().replace("-", "")
        orders = self._store.for_asset(asset)
        wanted = words_of(self._lexicon.normalise(words))
        part = words_of(self._lexicon.normalise(component))
        kept = [o for o in orders
                if all(w in set(words_of(o.normalised)) for w in wanted)
                and all(w in set(words_of(o.component)) for w in part)]
        question = HistoryQuestion(text=f"{asset.upper()} {words} {component}".strip(),
                                   assets=(asset,) if orders else (),
                                   unknown=() if orders else (asset,))
        snapshot, _ = self._snapshot()
        closest = None if orders else self._closest(asset, snapshot.assets)
        suggestions = {asset: closest.upper()} if closest else {}
        return History(question, [Match(o, "asset") for o in kept], [], suggestions)

    def matching(self, text: str) -> History:
        """Work orders matching ``text`` on every asset (a failure's spread), as a history
        question about it would."""
        question = self.recognise(f"work orders {text}") or HistoryQuestion(text=text)
        return self.find(replace(question, text=text))
