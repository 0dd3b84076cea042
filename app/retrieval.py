"""Question -> the passages most likely to answer it.

Hybrid: dense (Chroma, cosine) and lexical (BM25 with tag/code tokens) fused
by reciprocal rank, plus a boost for passages that carry an equipment tag or
fault code named in the question. Every returned passage carries its dense
similarity to the question, which is the evidence abstention is decided on.
"""

from __future__ import annotations

import numpy as np

from app.settings import RetrievalSettings
from ingest.contract import DocType
from ingest.embedding import Embedder
from ingest.index import ChunkIndex, ScoredChunk
from ingest.lexical import LexicalIndex
from ingest.manifest import Manifest
from ingest.tags import tags_in_query

_RRF_K = 60


class Retriever:
    def __init__(self, embedder: Embedder, index: ChunkIndex, lexical: LexicalIndex,
                 manifest: Manifest, settings: RetrievalSettings) -> None:
        self._embedder = embedder
        self._index = index
        self._lexical = lexical
        self._manifest = manifest
        self._settings = settings

    def retrieve(self, question: str, k: int | None = None) -> list[ScoredChunk]:
        k = k or self._settings.top_k
        if self._index.count() == 0:
            return []
        n = max(k, self._settings.candidates)
        vector = self._embedder.embed_query(question)
        fused: dict[str, float] = {}
        known: dict[str, ScoredChunk] = {}
        # One ranked list per document type and method: thousands of one-line work
        # orders would otherwise crowd manual pages out of every short question.
        for doc_type in DocType:
            dense = self._index.query(vector, n, doc_type)
            for rank, hit in enumerate(dense):
                fused[hit.chunk.id] = fused.get(hit.chunk.id, 0.0) + 1.0 / (_RRF_K + rank + 1)
                known[hit.chunk.id] = hit
            lexical = self._lexical.search(question, n, doc_type=str(doc_type))
            weight = self._settings.lexical_weight
            for rank, (chunk_id, _score) in enumerate(lexical):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (_RRF_K + rank + 1)

        missing = [i for i in fused if i not in known]
        query = np.asarray(vector)
        for chunk_id, (chunk, chunk_vector) in self._index.fetch(missing).items():
            known[chunk_id] = ScoredChunk(chunk, float(query @ np.asarray(chunk_vector)))

        codes = tags_in_query(question)
        if codes:  # tags and codes were extracted once, at ingest, into chunk metadata
            for chunk_id, hit in known.items():
                if codes & {*hit.chunk.equipment_tags, *hit.chunk.fault_codes}:
                    fused[chunk_id] = fused.get(chunk_id, 0.0) + self._settings.tag_boost
        live = self._manifest.live_versions({hit.chunk.file for hit in known.values()})
        visible = {i for i, hit in known.items()
                   if hit.chunk.file not in live or live[hit.chunk.file] == hit.chunk.file_sha256}
        ranked = sorted((i for i in fused if i in visible), key=lambda i: -fused[i])
        return [known[i] for i in ranked[:k]]

    def is_answerable(self, question: str, hits: list[ScoredChunk]) -> bool:
        """Evidence rule for abstention: does one retrieved passage both sit close to the
        question (dense similarity) and contain its key words (IDF-weighted coverage)?"""
        return any(h.similarity >= self._settings.min_similarity
                   and self._lexical.coverage(question, h.chunk.indexed_text())
                   >= self._settings.min_coverage
                   for h in hits)
