"""Finding every work order that answers a history question, from the records ingest keeps.

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
   orders holding every word. The ways of saying "it does not work" ("not working", "u/s",
   "broken", "faulty") are one word; alone they narrow nothing ("windscreen washer not
   working": every washer job), joined by "or" they name the kinds of job asked for. The
   numbers are fitted on the development questions (benchmarks/fit_history.py,
   docs/retrieval.md); each match says which way it matched.
   The count is always the length of that list: "how many" needs nothing else.

What the logs do not hold (who did a job, its cost, the downtime) is said, with the records
that match the rest of the question listed for reference.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.answer.history.matches import Evidence, History, Match, select
from app.answer.history.question import (
    FAILED,
    HISTORY,
    HISTORY_LOOSE,
    INSTRUCTION,
    MISSING_DATA,
    REFERS_BACK,
    HistoryQuestion,
    closest_asset,
    failure_phrases,
    order_words,
    stem,
    subject_of,
    subject_words,
    word_groups,
    words_of,
)
from app.settings import HistorySettings
from ingest.contract import DocType
from ingest.lexicon import Lexicon
from ingest.records import Snapshot, WorkOrder, WorkOrderStore
from ingest.tags import identifiers_in_query, numbered_words
from ingest.words import name_key, written_form

if TYPE_CHECKING:
    from ingest.embedding import Embedder
    from ingest.search import Candidate, CandidateSearch


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




def _capped(matches: list[Match], most: int) -> tuple[list[Match], int]:
    """Every exact match, and the ``most`` closest of those matched by meaning only; and how
    many more were close in meaning. A list of hundreds of work orders that only resemble
    the question is no answer to it."""
    meaning = sorted((m for m in matches if m.how == "meaning"),
                     key=lambda m: -(m.similarity or 0.0))
    if len(meaning) <= most:
        return matches, 0
    kept = {id(m) for m in meaning[:most]}
    return [m for m in matches if m.how != "meaning" or id(m) in kept], len(meaning) - most


class HistoryFinder:
    def __init__(self, store: WorkOrderStore, search: CandidateSearch, embedder: Embedder,
                 lexicon: Lexicon, settings: HistorySettings) -> None:
        self._store = store
        self._search = search
        self._embedder = embedder
        self._lexicon = lexicon
        self._settings = settings
        # Work orders of files this reader may not read (app.records.collections): out of
        # every list, count, asset and word frequency they see.
        self._hidden: frozenset[str] = frozenset()
        # The words of each view of the work orders, by (version, hidden files); shared by
        # every reader's view, so that a question costs no re-reading of thousands of orders
        self._views: dict[tuple[str, frozenset[str]], _Terms] = {}

    def for_reader(self, hidden: frozenset[str]) -> HistoryFinder:
        """This finder as a reader who may not read the ``hidden`` files sees the history."""
        if not hidden:
            return self
        view = copy.copy(self)
        view._search = self._search.hiding(hidden)
        view._hidden = hidden
        return view

    def _snapshot(self) -> tuple[Snapshot, _Terms]:
        snapshot = self._store.snapshot()
        full_key, key = (snapshot.version, frozenset()), (snapshot.version, self._hidden)
        terms = self._views.get(key)
        if terms is None:
            full = self._views.get(full_key)
            if full is None:
                words = [order_words(o.normalised) for o in snapshot.orders]
                full = _Terms(snapshot.version, words, Counter(w for ws in words for w in ws))
            words = [w for w, o in zip(full.words, snapshot.orders, strict=True)
                     if o.file not in self._hidden]
            terms = (full if not self._hidden else
                     _Terms(snapshot.version, words, Counter(w for ws in words for w in ws)))
            if len(self._views) > 32:  # old versions and rare views go
                self._views.clear()
            self._views.update({full_key: full, key: terms})
        if self._hidden:
            orders = [o for o in snapshot.orders if o.file not in self._hidden]
            snapshot = Snapshot(snapshot.version, orders,
                                frozenset(name for o in orders for name, _ in o.fields))
        return snapshot, terms

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
        typo = any(closest_asset(u, known) and not self._search.document_frequency(u)
                   for u in unknown)
        # a model or part name no document or work order holds ("S7-1200", "FX3U-32M"): no
        # list of work orders close in meaning answers a question about it
        # (said once: the tag "vx7739" and the "7739" read from "VX-7739" are one thing)
        said = {name_key(n) for n in named}
        unheard = tuple(dict.fromkeys(
            form for form in (written_form(question, w) for w in sorted(numbered_words(question))
                              if w not in known and not self._search.document_frequency(w))
            if name_key(form) not in said))
        worded = HISTORY.search(question) or (work_order_first
                                               and HISTORY_LOOSE.search(question))
        if not (assets or typo or work_orders_only or worded):
            return None
        subject, alternatives = subject_of(self._lexicon.normalise(question), named)
        return HistoryQuestion(
            text=question, assets=assets, unknown=unknown + unheard, subject=subject,
            alternatives=alternatives, asks_for_records=bool(HISTORY.search(question)),
            missing=tuple(what for what, (pattern, columns) in MISSING_DATA.items()
                          if pattern.search(question)
                          and not snapshot.columns & set(columns)))

    def route(self, question: str, hits: Sequence[Candidate]) -> HistoryQuestion | None:
        """The question as a history question, given what retrieval found for it (its top
        passages): by its wording, or because every one of them is a work order."""
        recognised = self.recognise(
            question, work_order_first=bool(hits) and hits[0].chunk.doc_type is DocType.LOG)
        if (recognised is None and hits and not INSTRUCTION.search(question)
                and all(h.chunk.doc_type is DocType.LOG for h in hits)):
            recognised = self.recognise(question, work_orders_only=True)
        return recognised

    def answer(self, question: str, hits: Sequence[Candidate],
               earlier: Sequence[str] = ()) -> History | None:
        """The work orders that answer ``question``, or None when the records are not its
        answer: it is no history question, or it names something no work order mentions
        ("alm1 mid job…", "jake brake not working") without asking for the records — then
        the documents' passages answer it. (Asked for the records, the answer is that none
        mentions it.) A question naming no asset that refers back ("what's been done on
        it?") is about the asset the ``earlier`` question named."""
        asked = self.route(question, hits)
        if asked is None:
            return None
        if not asked.assets and not asked.unknown and earlier and REFERS_BACK.search(question):
            known = self._snapshot()[0].assets
            before = tuple(sorted(n for n in identifiers_in_query(earlier[-1]) if n in known))
            asked = replace(asked, assets=before) if before else asked
        found = self.find(asked)
        # Not asked for the records, the records are the answer only when they hold the
        # subject: "QR0218 stopped with ALARM:1, what does it mean?" names an asset, but
        # listing all 138 of its work orders (none about the alarm) does not answer it; the
        # manuals' passages do.
        if not asked.asks_for_records and (found.weak or found.whole_asset):
            return None
        return found

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
                       if (c := closest_asset(u, snapshot.assets))}
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
        said = failure_phrases(" ".join(question.subject))  # "not working": any failure
        absent = tuple(w for w in question.subject
                       if w not in held and either.get(w) not in held and w not in said)
        whole_asset = not matches and bool(question.assets)
        if whole_asset:
            names = ", ".join(a.upper() for a in question.assets)
            notes.append(f"No work order of {names} mentions “{' '.join(question.subject)}”: "
                         "all of its work orders are listed.")
            matches = [Match(o, "asset") for _, o in pool]
        open_ended = self._open_ended(question, evidence, matches)
        matches, unlisted = _capped(matches, self._settings.meaning_listed)
        return History(question, matches, notes, suggestions, absent,
                       open_ended=open_ended, unlisted=unlisted, whole_asset=whole_asset)

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
        subject = self._split(subject_words(" ".join(question.subject)), terms)
        forms = {w: terms.forms(w) for w in subject}
        groups = [frozenset(w for w in group if forms[w])
                  for group in word_groups(question, subject)]
        # "not working" alone narrows nothing: a work order exists because something is
        # wrong, and "radio faulty", "needs new aerial", "no reception" are all its jobs. Joined
        # with another word ("faults or replacements") it names the kinds of job asked for.
        groups = [g for g in groups if g != {FAILED}] or groups
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
        orders = [o for o in self._store.for_asset(asset) if o.file not in self._hidden]
        wanted = words_of(self._lexicon.normalise(words))
        part = words_of(self._lexicon.normalise(component))
        kept = [o for o in orders
                if all(w in set(words_of(o.normalised)) for w in wanted)
                and all(w in set(words_of(o.component)) for w in part)]
        question = HistoryQuestion(text=f"{asset.upper()} {words} {component}".strip(),
                                   assets=(asset,) if orders else (),
                                   unknown=() if orders else (asset,))
        snapshot, _ = self._snapshot()
        closest = None if orders else closest_asset(asset, snapshot.assets)
        suggestions = {asset: closest.upper()} if closest else {}
        return History(question, [Match(o, "asset") for o in kept], [], suggestions)

    def matching(self, text: str) -> History:
        """Work orders matching ``text`` on every asset (a failure's spread), as a history
        question about it would."""
        question = self.recognise(f"work orders {text}") or HistoryQuestion(text=text)
        return self.find(replace(question, text=text))
