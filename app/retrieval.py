"""Question -> the passages most likely to answer it.

Hybrid: dense (Chroma, cosine), lexical (BM25 with tag/code tokens) and the
IDF-weighted coverage of the question's words, fused by reciprocal rank over
citation units (a page, a record, a section), plus a boost for units that
carry an equipment tag or fault code named in the question; the best few
fused units are then ordered by their evidence (similarity plus coverage).
Every returned passage carries its dense similarity to the question, which is
the evidence abstention is decided on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.evidence import FEATURES, AbstentionModel, Evidence
from app.settings import RetrievalSettings
from ingest.contract import Chunk, DocType, MetaKey, date_number
from ingest.embedding import Embedder
from ingest.index import ChunkIndex, ScoredChunk
from ingest.lexical import LexicalIndex
from ingest.manifest import Manifest
from ingest.tags import identifiers_in_query, table_rows, tags_in_query

_RRF_K = 60
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n\s*\n|(?<=:)\n")
_QUOTABLE_CHARS = (25, 400)


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


@dataclass(frozen=True)
class SearchFilters:
    """What a technician narrows a search to. Dense candidates are filtered inside Chroma;
    lexical ones are checked against the same rule after lookup."""

    doc_type: DocType | None = None
    file: str | None = None
    tag: str | None = None  # an equipment tag or fault code, in any spelling ingest accepts
    date_from: str | None = None  # ISO dates, inclusive; work orders only carry dates
    date_to: str | None = None

    @property
    def codes(self) -> set[str]:
        if not self.tag:
            return set()
        return tags_in_query(self.tag) or {self.tag.strip().lower()}

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.file:
            clauses.append({MetaKey.FILE.value: self.file})
        if self.codes:
            clauses.append({"$or": [{key.value: {"$contains": code}} for code in self.codes
                                    for key in (MetaKey.EQUIPMENT_TAGS, MetaKey.FAULT_CODES)]})
        if self.date_from:
            clauses.append({MetaKey.DATE.value: {"$gte": date_number(self.date_from)}})
        if self.date_to:
            clauses.append({MetaKey.DATE.value: {"$lte": date_number(self.date_to)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, chunk: Chunk) -> bool:
        if self.doc_type and chunk.doc_type != self.doc_type:
            return False
        if self.file and chunk.file != self.file:
            return False
        if self.codes and not self.codes & {*chunk.equipment_tags, *chunk.fault_codes}:
            return False
        if (self.date_from or self.date_to) and not chunk.date:
            return False
        if self.date_from and chunk.date and chunk.date < self.date_from:
            return False
        return not (self.date_to and chunk.date and chunk.date > self.date_to)


class Retriever:
    def __init__(self, embedder: Embedder, index: ChunkIndex, lexical: LexicalIndex,
                 manifest: Manifest, settings: RetrievalSettings,
                 abstention: AbstentionModel | None = None) -> None:
        self._abstention = abstention or AbstentionModel.load()
        self._embedder = embedder
        self._index = index
        self._lexical = lexical
        self._manifest = manifest
        self._settings = settings

    def retrieve(self, question: str, k: int | None = None,
                 filters: SearchFilters | None = None) -> list[ScoredChunk]:
        """The best chunk of each of the ``k`` best citation units (page, record, section).

        Ranks are counted in units, not chunks: a page cut into four overlapping chunks
        would otherwise take four ranks of a list and push other pages out of the top k.
        """
        k = k or self._settings.top_k
        filters = filters or SearchFilters()
        n = max(k, self._settings.candidates)
        vector = self._embedder.embed_query(question)
        known: dict[str, ScoredChunk] = {}
        lists: list[tuple[float, list[str]]] = []  # (fusion weight, chunk ids best first)
        # One ranked list per document type and method: thousands of one-line work
        # orders would otherwise crowd manual pages out of every short question.
        for doc_type in DocType:
            if filters.doc_type and doc_type != filters.doc_type:
                continue
            dense = self._index.query(vector, n, doc_type, filters.where())
            known.update((hit.chunk.id, hit) for hit in dense)
            lists.append((1.0, [hit.chunk.id for hit in dense]))
            lexical = self._lexical.search(question, n, doc_type=str(doc_type))
            lists.append((self._settings.lexical_weight, [chunk_id for chunk_id, _ in lexical]))

        missing = [i for _, ids in lists for i in ids if i not in known]
        query = np.asarray(vector)
        for chunk_id, (chunk, chunk_vector) in self._index.fetch(missing).items():
            known[chunk_id] = ScoredChunk(chunk, float(query @ np.asarray(chunk_vector)))
        visible = self._visible(known, filters)

        fused: dict[tuple[str, str], float] = {}
        best: dict[tuple[str, str], ScoredChunk] = {}  # first seen: dense lists come first
        members: dict[tuple[str, str], dict[str, Chunk]] = {}
        for weight, ids in lists:
            ranked_units: dict[tuple[str, str], None] = {}  # insertion-ordered set
            for chunk_id in ids:
                if chunk_id not in visible:
                    continue
                hit = known[chunk_id]
                unit = hit.chunk.unit
                members.setdefault(unit, {})[chunk_id] = hit.chunk
                best.setdefault(unit, hit)
                ranked_units[unit] = None
            for rank, unit in enumerate(ranked_units):
                fused[unit] = fused.get(unit, 0.0) + weight / (_RRF_K + rank + 1)

        # A third list per type: the same candidates by the IDF-weighted share of the
        # question's words they contain. Unlike BM25 it does not favour short chunks, so an
        # index page or a long procedure that names every rare word is not pushed down.
        candidates = [(unit, c) for unit, chunks in members.items() for c in chunks.values()]
        shares = self._lexical.coverages(question, [c.indexed_text() for _, c in candidates])
        coverage: dict[tuple[str, str], float] = {}
        for (unit, _), share in zip(candidates, shares, strict=True):
            coverage[unit] = max(coverage.get(unit, 0.0), share)
        if self._settings.coverage_weight:
            for doc_type in DocType:
                by_coverage = sorted((u for u in coverage if best[u].chunk.doc_type == doc_type),
                                     key=lambda unit: -coverage[unit])
                for rank, unit in enumerate(by_coverage):
                    fused[unit] += self._settings.coverage_weight / (_RRF_K + rank + 1)

        codes = identifiers_in_query(question)
        if codes:  # tags and codes were extracted once, at ingest, into chunk metadata
            for unit, chunks in members.items():
                if any(codes & {*c.equipment_tags, *c.fault_codes} for c in chunks.values()):
                    fused[unit] += self._settings.tag_boost
        ranked = sorted(fused, key=lambda unit: -fused[unit])

        # Fusion finds the right units but, counting ranks only, cannot order the first few:
        # first and second place in a list differ by 1/61 against 1/62 whatever the gap in
        # score, and the best work order gets the same credit as the best manual page. The
        # top units are therefore put in the order of their evidence — the two measures
        # abstention reads, comparable across pages and work orders — the rest keep theirs.
        depth = self._settings.rerank_depth
        weight = self._settings.rerank_coverage_weight
        head = sorted(ranked[:depth],
                      key=lambda unit: -(best[unit].similarity + weight * coverage[unit]))
        return [best[unit] for unit in (head + ranked[depth:])[:k]]

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for: the index files into the
        page cache, the HNSW graphs, the BM25 index and the embedding model."""
        self._index.read_into_page_cache()
        self.retrieve("warm up")

    def _visible(self, known: dict[str, ScoredChunk], filters: SearchFilters) -> set[str]:
        """Chunks of the live version of their file that pass the filters."""
        live = self._manifest.live_versions({hit.chunk.file for hit in known.values()})
        return {i for i, hit in known.items()
                if (hit.chunk.file not in live or live[hit.chunk.file] == hit.chunk.file_sha256)
                and filters.admits(hit.chunk)}

    def best_sentences(self, question: str, hits: list[ScoredChunk], n: int = 2,
                       passages: int = 3) -> list[tuple[int, str]]:
        """The ``n`` sentences of the first ``passages`` hits that best answer the question,
        as (hit index, sentence), best first: what an operator reads first, quoted verbatim
        (line breaks of the page folded into spaces)."""
        chosen: list[tuple[int, str]] = []
        for i, sentence, *_ in self._sentence_scores(question, hits, passages):
            words = set(sentence.lower().split())
            if all(len(words & set(other.lower().split())) < len(words) / 2
                   for _, other in chosen):  # not the same lines again
                chosen.append((i, sentence))
            if len(chosen) == n:
                break
        return chosen

    def _sentence_scores(self, question: str, hits: list[ScoredChunk],
                         passages: int = 3) -> list[tuple[int, str, float, float]]:
        """(hit index, sentence, similarity, coverage) of the sentences of the first hits,
        best (similarity + half the coverage) first."""
        codes = identifiers_in_query(question)
        rows = [(i, row) for i, hit in enumerate(hits[:passages])
                for row in table_rows(hit.chunk.text, {int(c.split(":")[1]) for c in codes
                                                      if c in hit.chunk.fault_codes})]
        candidates = rows + [(i, sentence) for i, hit in enumerate(hits[:passages])
                             for sentence in split_sentences(hit.chunk.text)]
        if not candidates:
            return []
        texts = [sentence for _, sentence in candidates]
        query = tuple(self._embedder.embed_query(question))
        similarity = np.asarray(self._embedder.embed(texts)) @ np.asarray(query)
        coverage = self._lexical.coverages(question, texts)
        # The row of a code table that the question names is the answer to "what is ALARM 9"
        row_bonus = [1.0] * len(rows) + [0.0] * (len(candidates) - len(rows))
        scored = [(i, text, float(sim) + bonus, cov) for (i, text), sim, cov, bonus
                  in zip(candidates, similarity, coverage, row_bonus, strict=True)]
        return sorted(scored, key=lambda item: -(item[2] + 0.5 * item[3]))

    def evidence(self, question: str, hits: list[ScoredChunk]) -> Evidence:
        """Whether the passages answer the question: answer, answer marked weak, or not
        found (see app.evidence)."""
        features, missing = self.evidence_features(question, hits)
        return self._abstention.decide(features, missing)

    def is_answerable(self, question: str, hits: list[ScoredChunk]) -> bool:
        return self.evidence(question, hits).answerable

    def evidence_features(self, question: str,
                          hits: list[ScoredChunk]) -> tuple[dict[str, float], tuple[str, ...]]:
        """The features app.evidence decides on, and the identifiers the question names that
        the index does not hold."""
        unknown = tuple(sorted(i for i in identifiers_in_query(question)
                               if not self._lexical.document_frequency(i)))
        if not hits:
            return {name: 0.0 for name in FEATURES} | {
                "ids_missing_from_index": float(bool(unknown))}, unknown
        coverages = self._lexical.coverages(question, [h.chunk.indexed_text() for h in hits])
        features = {
            "top_coverage": max(coverages),
            "best_combined": max(h.similarity + 0.5 * c for h, c in zip(hits, coverages,
                                                                         strict=True)),
            "ids_missing_from_index": float(bool(unknown)),
        }
        return features, unknown
