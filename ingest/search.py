"""The read side of the index: the passages a question could be answered from, with their
evidence.

Ingest owns what is in the index, so it also owns how it is read: the dense lists (Chroma)
and the lexical lists (BM25) per document type, the filters a technician sets, the rule that
only the live version of a file is visible, and each candidate's evidence — its cosine
similarity to the question and the IDF-weighted share of the question's words it holds,
computed once here. ``app.answer.retrieval`` fuses the lists and decides; it does not touch
Chroma, BM25 or the manifest (an import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.contract import Chunk, DocType, MetaKey, date_number
from ingest.index import ChunkIndex, ScoredChunk
from ingest.lexical import LexicalIndex
from ingest.manifest import Manifest
from ingest.tags import codes_in_query, tags_in_query


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


@dataclass(frozen=True)
class Candidate:
    """A passage and its evidence for one question."""

    chunk: Chunk
    similarity: float  # cosine similarity to the question, 1.0 = same direction
    coverage: float = 0.0  # IDF-weighted share of the question's words (and codes) it holds


@dataclass
class RankedLists:
    """Every visible candidate once, and the ranked lists that found them."""

    candidates: dict[str, Candidate] = field(default_factory=dict)  # by chunk id
    # (method, document type, chunk ids best first); methods: "dense", "lexical", and
    # "named": the chunks holding a fault code the question names, in no rank order
    lists: list[tuple[str, DocType, list[str]]] = field(default_factory=list)


class CandidateSearch:
    # how many times n a reader's search asks for without the file filter, in turn (_nearest)
    unfiltered_fetch: tuple[int, ...] = (2, 8)
    # chunks fetched per fault code a question names, of each type (a code's table row
    # and the pages that discuss it)
    named_per_code: int = 5

    def __init__(self, index: ChunkIndex, lexical: LexicalIndex, manifest: Manifest,
                 hidden: frozenset[str] = frozenset()) -> None:
        self._index = index
        self._lexical = lexical
        self._manifest = manifest
        # Files this reader may not read (their collections are not theirs): left out inside
        # each search, before the best n are taken, and in every count of the index.
        self._hidden = hidden

    def hiding(self, files: frozenset[str]) -> CandidateSearch:
        """The same index as a reader who may not read ``files`` sees it."""
        return CandidateSearch(self._index, self._lexical, self._manifest, files)

    def _nearest(self, vector: Sequence[float], n: int, doc_type: DocType,
                 where: dict[str, Any] | None) -> list[ScoredChunk]:
        """The ``n`` nearest passages this reader may read. Chroma's file filter is exact but
        costs time in proportion to the passages it admits (42 ms instead of 7 for 12,000 work
        orders), so 2n and then 8n are asked for without it first and the readable ones kept:
        when at least ``n`` are readable they are the ``n`` nearest readable ones. Only when
        forbidden documents fill even those (a question about their subject) does the
        filtered search run (dev questions, a third of the corpus forbidden: 36 of 188
        searches needed the second step, none the filter)."""
        if not self._hidden:
            return self._index.query(vector, n, doc_type, where)
        for fetch in (factor * n for factor in self.unfiltered_fetch):
            fetched = self._index.query(vector, fetch, doc_type, where)
            readable = [hit for hit in fetched if hit.chunk.file not in self._hidden]
            if len(readable) >= n or len(fetched) < fetch:
                return readable[:n]
        hiding = {MetaKey.FILE.value: {"$nin": sorted(self._hidden)}}
        return self._index.query(vector, n, doc_type,
                                 {"$and": [where, hiding]} if where else hiding)

    def search(self, question: str, vector: Sequence[float], n: int,
               filters: SearchFilters) -> RankedLists:
        """The best ``n`` of each method and document type that pass ``filters``, of the live
        version of their file, each with its evidence."""
        found: dict[str, tuple[Chunk, float]] = {}
        lists: list[tuple[str, DocType, list[str]]] = []
        # One ranked list per document type and method: thousands of one-line work
        # orders would otherwise crowd manual pages out of every short question.
        for doc_type in DocType:
            if filters.doc_type and doc_type != filters.doc_type:
                continue
            dense = self._nearest(vector, n, doc_type, filters.where())
            found.update((hit.chunk.id, (hit.chunk, hit.similarity)) for hit in dense)
            lists.append(("dense", doc_type, [hit.chunk.id for hit in dense]))
            lexical = self._lexical.search(question, n, doc_type=str(doc_type),
                                           hidden=self._hidden)
            lists.append(("lexical", doc_type, [chunk_id for chunk_id, _ in lexical]))
            # A code is one row of one table: "alm1 mid job, gantry ran into the end switch…"
            # must see alarm 1's row even when the rest of its words rank other pages first
            # (a table chunk is long, and BM25 weighs one rare token in it lightly).
            named = [i for code in sorted(codes_in_query(question)) if ":" in code
                     for i in self._lexical.holding(code, self.named_per_code, str(doc_type),
                                                    self._hidden)]
            if named:
                lists.append(("named", doc_type, list(dict.fromkeys(named))))
        missing = list(dict.fromkeys(i for _, _, ids in lists for i in ids if i not in found))
        query = np.asarray(vector)
        for chunk_id, (chunk, chunk_vector) in self._index.fetch(missing).items():
            found[chunk_id] = (chunk, float(query @ np.asarray(chunk_vector)))
        visible = self._visible(found, filters)
        shares = self._lexical.coverages(question, [found[i][0].indexed_text() for i in visible])
        candidates = {i: Candidate(found[i][0], found[i][1], share)
                      for i, share in zip(visible, shares, strict=True)}
        return RankedLists(candidates, [(method, doc_type, [i for i in ids if i in candidates])
                                        for method, doc_type, ids in lists])

    def similar_work_orders(self, vector: Sequence[float], n: int,
                            asset: str | None = None) -> dict[tuple[str, str], float]:
        """Cosine similarity of the ``n`` work orders nearest to ``vector`` (of those naming
        ``asset`` when given), by (file, record id), live versions only."""
        where = {MetaKey.EQUIPMENT_TAGS.value: {"$contains": asset.lower()}} if asset else None
        hits = self._nearest(vector, n, DocType.LOG, where)
        found = {hit.chunk.id: (hit.chunk, hit.similarity) for hit in hits}
        return {(found[i][0].file, found[i][0].record_id or ""): found[i][1]
                for i in self._visible(found, SearchFilters())}

    def coverages(self, question: str, texts: Sequence[str]) -> list[float]:
        """IDF-weighted share of the question's words in each text (quotes are scored so)."""
        return self._lexical.coverages(question, texts)

    def document_frequency(self, token: str) -> int:
        """How many chunks hold ``token``: 0 for a fault code or tag the documents never name."""
        return self._lexical.document_frequency(token, self._hidden)

    def frequent_codes(self, limit: int) -> list[tuple[str, int]]:
        """The fault codes the most chunks hold, with their counts (example questions)."""
        return self._lexical.frequent_codes(limit, self._hidden)

    def read_into_page_cache(self) -> int:
        return self._index.read_into_page_cache()

    def _visible(self, found: dict[str, tuple[Chunk, float]],
                 filters: SearchFilters) -> list[str]:
        """Ids of chunks of the live version of their file that pass the filters."""
        live = self._manifest.live_versions({chunk.file for chunk, _ in found.values()})
        return [i for i, (chunk, _) in found.items()
                if (chunk.file not in live or live[chunk.file] == chunk.file_sha256)
                and filters.admits(chunk) and chunk.file not in self._hidden]
