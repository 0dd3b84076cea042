"""Question -> the passages most likely to answer it.

Hybrid: dense (Chroma, cosine), lexical (BM25 with tag/code tokens) and the
IDF-weighted coverage of the question's words, fused by reciprocal rank over
citation units (a page, a record, a section), plus a boost for units that
carry an equipment tag or fault code named in the question; the best few
fused units are then ordered by their evidence (similarity plus coverage).
Every returned passage carries its evidence (dense similarity and coverage), which
the not-found decision (app.answer.evidence) reads. The candidates come from ``ingest.search``,
the index's read side: this module fuses and decides, it never touches Chroma or BM25.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from app.answer.evidence import FEATURES, AbstentionModel, Evidence, Verdict
from app.answer.fact_kinds import FactKind, asked_kind
from app.answer.safety import lockout_sentences
from app.answer.steps import asks_what_to_do, is_instruction
from app.answer.support import SupportCheck
from app.answer.vectors import SentenceVectors
from app.settings import RetrievalSettings
from ingest.contract import Chunk, DocType
from ingest.embedding import Embedder
from ingest.search import Candidate, CandidateSearch, SearchFilters
from ingest.tags import identifiers_in_query, numbered_words, spellings, table_rows
from ingest.words import as_written, written_form

_RRF_K = 60
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n\s*\n|(?<=:)\n")
_QUOTABLE_CHARS = (25, 400)
_SECOND_QUOTE_SHARE = 0.8  # a further quote scores at least this share of the best one
_STEP_SHARE = 0.5  # an instruction quoted scores at least this share of the best sentence
# (fitted on dev by reading what it adds: 0.7 added none, 0.5 three, two of them useful)
_STEPS = 3
# What the plant's safety pages say about locking out energy before servicing (a fixed query:
# the rule is the same whatever machine the question names).
_LOCKOUT_QUERY = ("lockout/tagout: isolate and lock out every source of hazardous energy before "
                  "servicing or maintenance of a machine")


def split_sentences(text: str, window: int = 2) -> list[str]:
    """Quotable pieces of a passage, each on one line: single sentences and runs of up to
    ``window`` consecutive ones (a table row's meaning and its remedy are two sentences:
    "Could not find limit switch within search distances. Try increasing max travel…")."""
    sentences = [" ".join(part.split()) for part in _SENTENCE.split(text)]
    sentences = [s for s in sentences if s]
    low, high = _QUOTABLE_CHARS
    pieces = [" ".join(sentences[i:i + n]) for n in range(1, window + 1)
              for i in range(len(sentences) - n + 1)]
    return [p for p in dict.fromkeys(pieces) if low <= len(p) <= high]


def _numbers(listed: list[int]) -> str:
    """1-10 for a run, else the numbers (the first twelve)."""
    if len(listed) > 2 and listed == list(range(listed[0], listed[-1] + 1)):
        return f"{listed[0]}–{listed[-1]}"
    shown = ", ".join(map(str, listed[:12]))
    return shown + (" …" if len(listed) > 12 else "")


class Retriever:
    def __init__(self, embedder: Embedder, search: CandidateSearch, settings: RetrievalSettings,
                 abstention: AbstentionModel | None = None) -> None:
        # quotes re-read the same passages: their sentences' vectors are kept
        self._vectors = SentenceVectors(embedder, settings.sentence_cache)
        self._search = search
        self._settings = settings
        self._abstention = abstention or AbstentionModel.load()

    def for_reader(self, hidden: frozenset[str]) -> Retriever:
        """This retriever as a reader who may not read the ``hidden`` files sees the index:
        they are left out inside each search (so the reader's top k are all readable), and
        an identifier only they hold counts as one the index does not hold."""
        if not hidden:
            return self
        view = copy.copy(self)  # the sentence vectors and the not-found model are shared
        view._search = self._search.hiding(hidden)
        return view

    @property
    def support_check(self) -> SupportCheck:
        """The sentence-level check of a model's answer, with this retriever's embedder (and
        its kept sentence vectors) and the index's word weights."""
        return SupportCheck(self._vectors.embed, self._search.coverages, split_sentences,
                            self._settings.support_similarity_below,
                            self._settings.support_coverage_below)

    def frequent_codes(self, limit: int) -> list[str]:
        """The fault codes the most passages explain (example questions)."""
        return [code for code, _ in self._search.frequent_codes(limit)]

    def retrieve(self, question: str, k: int | None = None,
                 filters: SearchFilters | None = None) -> list[Candidate]:
        """The best chunk of each of the ``k`` best citation units (page, record, section).

        Ranks are counted in units, not chunks: a page cut into four overlapping chunks
        would otherwise take four ranks of a list and push other pages out of the top k.
        """
        k = k or self._settings.top_k
        found = self._search.search(question, self._vectors.embed_query(question),
                                    max(k, self._settings.candidates), filters or SearchFilters())
        candidates = found.candidates
        # "named" chunks (a fault code's) are candidates, ranked by the identifier boost
        weights = {"dense": 1.0, "lexical": self._settings.lexical_weight, "named": 0.0}
        fused: dict[tuple[str, str], float] = {}
        best: dict[tuple[str, str], Candidate] = {}  # first seen: dense lists come first
        members: dict[tuple[str, str], dict[str, Candidate]] = {}
        for method, _, ids in found.lists:
            ranked_units: dict[tuple[str, str], None] = {}  # insertion-ordered set
            for chunk_id in ids:
                hit = candidates[chunk_id]
                unit = hit.chunk.unit
                best.setdefault(unit, hit)
                members.setdefault(unit, {})[chunk_id] = hit
                ranked_units[unit] = None
            for rank, unit in enumerate(ranked_units):
                fused[unit] = fused.get(unit, 0.0) + weights[method] / (_RRF_K + rank + 1)

        # A third list per type: the same candidates by the IDF-weighted share of the
        # question's words they contain. Unlike BM25 it does not favour short chunks, so an
        # index page or a long procedure that names every rare word is not pushed down.
        coverage = {unit: max(c.coverage for c in hits.values())
                    for unit, hits in members.items()}
        if self._settings.coverage_weight:
            for doc_type in DocType:
                by_coverage = sorted((u for u in coverage if best[u].chunk.doc_type == doc_type),
                                     key=lambda unit: -coverage[unit])
                for rank, unit in enumerate(by_coverage):
                    fused[unit] += self._settings.coverage_weight / (_RRF_K + rank + 1)

        codes = identifiers_in_query(question)
        named: set[tuple[str, str]] = set()  # units carrying a tag or code the question names
        if codes:  # tags and codes were extracted once, at ingest, into chunk metadata
            for unit, hits in members.items():
                carrying = [h for h in hits.values()
                            if codes & {*h.chunk.equipment_tags, *h.chunk.fault_codes}]
                if carrying:
                    named.add(unit)
                    fused[unit] += self._settings.tag_boost
                    best[unit] = max(carrying, key=lambda h: h.similarity)
        ranked = sorted(fused, key=lambda unit: -fused[unit])

        # Fusion finds the right units but, counting ranks only, cannot order the first few:
        # first and second place in a list differ by 1/61 against 1/62 whatever the gap in
        # score, and the best work order gets the same credit as the best manual page. The
        # top units are therefore put in the order of their evidence — the two measures
        # abstention reads, comparable across pages and work orders — the rest keep theirs.
        depth = self._settings.rerank_depth
        weight = self._settings.rerank_coverage_weight
        named_weight = self._settings.rerank_identifier_weight
        head = sorted(ranked[:depth],
                      key=lambda unit: -(best[unit].similarity + weight * coverage[unit]
                                         + named_weight * (unit in named)))
        return [best[unit] for unit in (head + ranked[depth:])[:k]]

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for: the index files into the
        page cache, the HNSW graphs, the BM25 index and the embedding model."""
        self._search.read_into_page_cache()
        self.retrieve("warm up")

    def best_sentences(self, question: str, hits: list[Candidate], n: int = 2,
                       passages: int = 3) -> list[tuple[int, str]]:
        """The ``n`` sentences of the first ``passages`` hits that best answer the question,
        as (hit index, sentence), best first: what an operator reads first, quoted verbatim
        (line breaks of the page folded into spaces)."""
        return self._quotes(self._sentence_scores(question, hits, passages), n)

    def quotes_and_steps(self, question: str, hits: list[Candidate], n: int = 2,
                         passages: int = 3) -> tuple[list[tuple[int, str]],
                                                     list[tuple[int, str]]]:
        """The best sentences (as best_sentences), and — when the question asks what to do —
        up to three instruction sentences of the same passages that are about it
        (app.answer.steps), best first; both as (hit index, sentence)."""
        scored = self._sentence_scores(question, hits, passages)
        quotes = self._quotes(scored, n)
        if not asks_what_to_do(question):
            return quotes, []
        # another code's row of a code table tells what to do about that code: a table whose
        # row the question names gives that row (quoted already), nothing else of it
        tables = {i for i, _ in self.named_rows(question, hits, passages)}
        plain = [item for item in scored if item[0] not in tables]
        return quotes, self._pick(plain, _STEPS, _STEP_SHARE, is_instruction, taken=quotes)

    @staticmethod
    def _quotes(scored: list[tuple[int, str, float, float]], n: int) -> list[tuple[int, str]]:
        return Retriever._pick(scored, n, _SECOND_QUOTE_SHARE)

    @staticmethod
    def _pick(scored: list[tuple[int, str, float, float]], n: int, share: float,
              keep: Callable[[str], bool] = lambda _: True,
              taken: Sequence[tuple[int, str]] = ()) -> list[tuple[int, str]]:
        """Up to ``n`` of the scored sentences (best first) that ``keep`` accepts, each within
        ``share`` of the best one's score (far behind it, a sentence does not answer) and not
        the same lines again as one already taken or chosen."""
        chosen: list[tuple[int, str]] = []
        if not scored:
            return chosen
        best = scored[0][2] + 0.5 * scored[0][3]
        for i, sentence, similarity, coverage in scored:
            if similarity + 0.5 * coverage < share * best or len(chosen) == n:
                break
            words = set(sentence.lower().split())
            if keep(sentence) and all(len(words & set(other.lower().split())) < len(words) / 2
                                      for _, other in [*taken, *chosen]):
                chosen.append((i, sentence))
        return chosen

    def lockout(self) -> tuple[Candidate, str] | None:
        """The plant's own lockout/tagout rule: the best manual passage stating it and its
        sentence (an instruction preferred: "Perform servicing … under an energy control
        program … (lockout/tagout)"); None when no document states one."""
        found = [(hit, sentence) for hit in self.retrieve(
            _LOCKOUT_QUERY, k=10, filters=SearchFilters(doc_type=DocType.MANUAL))
            for sentence in lockout_sentences(hit.chunk.text)]
        return next((item for item in found if is_instruction(item[1])),
                    found[0] if found else None)

    def matching_sentence(self, question: str, chunk: Chunk, limit: int = 300) -> str:
        """The sentence (or two) of ``chunk`` holding most of the question's IDF-weighted words:
        a search hit's excerpt shows why it matched, not the first lines of its page."""
        sentences = split_sentences(chunk.text) or [" ".join(chunk.text.split())]
        shares = self._search.coverages(question, sentences)
        best = sentences[max(range(len(sentences)), key=lambda i: (shares[i], -i))]
        return best if len(best) <= limit else best[:limit - 1].rstrip() + "…"

    def _sentence_scores(self, question: str, hits: list[Candidate],
                         passages: int = 3) -> list[tuple[int, str, float, float]]:
        """(hit index, sentence, similarity, coverage) of the sentences of the first hits,
        best (similarity + half the coverage) first."""
        rows = self.named_rows(question, hits, passages)
        candidates = rows + [(i, sentence) for i, hit in enumerate(hits[:passages])
                             for sentence in split_sentences(hit.chunk.text)]
        if not candidates:
            return []
        texts = [sentence for _, sentence in candidates]
        similarity = self._vectors.embed(texts) @ self._vectors.embed([question])[0]
        coverage = self._search.coverages(question, texts)
        # The row of a code table that the question names is the answer to "what is ALARM 9"
        row_bonus = [1.0] * len(rows) + [0.0] * (len(candidates) - len(rows))
        scored = [(i, text, float(sim) + bonus, cov) for (i, text), sim, cov, bonus
                  in zip(candidates, similarity, coverage, row_bonus, strict=True)]
        return sorted(scored, key=lambda item: -(item[2] + 0.5 * item[3]))

    def evidence(self, question: str, hits: list[Candidate], asked: str | None = None
                 ) -> Evidence:
        """Whether the passages answer the question: answer, answer marked weak, or not
        found (see app.answer.evidence) — also when the question asks for a kind of value
        (a torque, an interval) that no sentence of the passages about it holds
        (app.answer.fact_kinds). ``asked``: a follow-up as typed, when ``question`` is it
        read with the one before (answering.condense_question); what it names and the kind
        of value it asks for are its own: after "torque of the M20 liner bolts?" (not
        found), "how do I clear a jam in the press?" is not "not found: M20"."""
        named = asked or question
        features, missing = self.evidence_features(question, hits, named)
        found = self._abstention.decide(features, missing)
        if found.verdict is not Verdict.ANSWER and self.named_rows(named, hits):
            # the row of the code it names is quoted to the operator: the evidence is whole,
            # however little of the rest of the question's words that table shares
            found = replace(found, verdict=Verdict.ANSWER)
        if not found.answerable:
            return found
        if unlisted := self.unlisted_codes(named, hits):
            return replace(found, verdict=Verdict.NOT_FOUND, reason=" ".join(unlisted))
        kind = asked_kind(named)
        if kind and not self.holds_value(named, kind, hits):
            return replace(found, verdict=Verdict.NOT_FOUND, reason=(
                f"The documents found are about this subject but give no {kind.name} for it."))
        return found

    @staticmethod
    def named_rows(question: str, hits: list[Candidate], passages: int = 3
                   ) -> list[tuple[int, str]]:
        """The rows of code tables, among the passages quoted from, of the codes the question
        names ("9 Homing fail Homing fail. Could not find limit switch…" for alm9), as (hit
        index, row)."""
        codes = [c for c in identifiers_in_query(question) if ":" in c]
        return [(i, row) for i, hit in enumerate(hits[:passages])
                for row in table_rows(hit.chunk.text, {int(c.split(":")[1]) for c in codes
                                                      if c in hit.chunk.fault_codes})]

    @staticmethod
    def unlisted_codes(question: str, hits: list[Candidate], passages: int = 5) -> list[str]:
        """A code table is a closed set: a code the question names (ALARM:14) that the table
        among the first passages does not list, while no passage names it either, is not in
        the documents - even when the table's page is the best match. Said per code."""
        said = []
        for code in sorted(c for c in identifiers_in_query(question) if ":" in c):
            family = code.split(":")[0] + ":"
            tables = [h.chunk for h in hits[:passages]
                      if sum(c.startswith(family) for c in h.chunk.fault_codes) >= 3]
            if not tables or any(code in h.chunk.fault_codes for h in hits[:passages]):
                continue
            listed = sorted({int(c.split(":")[1]) for t in tables for c in t.fault_codes
                             if c.startswith(family) and c.split(":")[1].isdigit()})
            said.append(f"{tables[0].file} lists {family[:-1]} codes {_numbers(listed)}; "
                        f"{code.upper()} is not among them.")
        return said

    def holds_value(self, question: str, kind: FactKind, hits: list[Candidate],
                    passages: int = 5) -> bool:
        """Whether a sentence of the first passages holds a value of ``kind`` and a word
        of the question (a value in a sentence about something else does not count)."""
        sentences = [" ".join(s.split()) for hit in hits[:passages]
                     for s in _SENTENCE.split(hit.chunk.text) if kind.held_in(s)]
        return bool(sentences) and max(self._search.coverages(question, sentences)) > 0

    def evidence_features(self, question: str, hits: list[Candidate], named: str | None = None
                          ) -> tuple[dict[str, float], tuple[str, ...]]:
        """The features app.answer.evidence decides on, and the identifiers the question
        (``named``: the text that names them, when it differs) names that the index does not
        hold: tags, fault codes and numbered words (a model, card or standard number), each
        in any of its spellings."""
        known = self._search.document_frequency
        named = named or question
        codes = identifiers_in_query(named)
        unknown = as_written(named, [  # a model name as written: "S7-1200", not "1200"
            i if i in codes else written_form(named, i)
            for i in sorted(codes | numbered_words(named))
            if not known(i) and not any(known(s) for s in spellings(i))])
        if not hits:
            return {name: 0.0 for name in FEATURES} | {
                "ids_missing_from_index": float(bool(unknown))}, unknown
        features = {  # coverage was measured once, in the search
            "top_coverage": max(h.coverage for h in hits),
            "best_combined": max(h.similarity + 0.5 * h.coverage for h in hits),
            "ids_missing_from_index": float(bool(unknown)),
        }
        return features, unknown
