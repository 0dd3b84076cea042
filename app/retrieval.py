"""Question -> the passages most likely to answer it."""

from __future__ import annotations

from ingest.embedding import Embedder
from ingest.index import ChunkIndex, ScoredChunk

from app.settings import RetrievalSettings


class Retriever:
    """Dense retrieval over the chunk index (cosine similarity)."""

    def __init__(self, embedder: Embedder, index: ChunkIndex, settings: RetrievalSettings) -> None:
        self._embedder = embedder
        self._index = index
        self._settings = settings

    def retrieve(self, question: str, k: int | None = None) -> list[ScoredChunk]:
        k = k or self._settings.top_k
        if self._index.count() == 0:
            return []
        vector = self._embedder.embed_query(question)
        hits = self._index.query(vector, max(k, self._settings.candidates))
        return hits[:k]

    def is_answerable(self, hits: list[ScoredChunk]) -> bool:
        """Evidence rule for abstention: is the best passage close enough at all?"""
        return bool(hits) and hits[0].similarity >= self._settings.min_similarity
