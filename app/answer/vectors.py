"""Sentence vectors kept between questions.

To pick the sentences it quotes, an answer embeds every sentence of its first passages: 84 % of
a retrieval-only answer's CPU (1.6 s of it on a 2-core machine), paid again for the same
passages by each follow-up and by every operator asking about the same fault. A sentence's
vector depends on its text alone, so it is kept (least recently used dropped first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embeds(Protocol):
    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class SentenceVectors:
    """``embed`` with the vectors of texts seen before taken from memory; at most ``size``
    kept (384 floats each: 20,000 sentences are 61 MB)."""

    def __init__(self, embedder: Embeds, size: int = 20_000) -> None:
        self._embedder = embedder
        self._size = size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # Gradio answers in several threads

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, in order (normalised, as the embedder gives them)."""
        with self._lock:
            found = {text: self._kept[text] for text in texts if text in self._kept}
            for text in found:
                self._kept.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            fresh = dict(zip(missing, np.asarray(self._embedder.embed(missing)),
                             strict=True))
            found.update(fresh)
            with self._lock:
                self._kept.update(fresh)
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return np.stack([found[text] for text in texts]) if texts else np.zeros((0, 0))

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]
