"""Sentence vectors kept between questions (app.answer.vectors), with the real embedding
model: the same vectors as embedding afresh, each sentence embedded once, the least recently
used dropped past the limit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.answer.vectors import SentenceVectors

SENTENCES = ["Check the limit switch wiring before re-homing.",
             "ALARM:2 means a G-code motion target exceeds the machine travel.",
             "Lock out the press before any servicing.",
             "Grease the drive chain every 200 operating hours."]


class Counted:
    """The real embedder, with the texts it was asked to embed written down."""

    def __init__(self, embedder) -> None:  # type: ignore[no-untyped-def]
        self.embedder = embedder
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.asked += texts
        return self.embedder.embed(texts)  # type: ignore[no-any-return]


def test_kept_vectors_equal_fresh_ones_and_each_sentence_is_embedded_once(embedder) -> None:  # type: ignore[no-untyped-def]
    counted = Counted(embedder)
    vectors = SentenceVectors(counted, size=3)
    first = vectors.embed(SENTENCES[:2])
    again = vectors.embed([SENTENCES[1], SENTENCES[0], SENTENCES[1]])
    assert counted.asked == SENTENCES[:2]  # nothing embedded twice, duplicates once
    assert np.allclose(first, np.asarray(embedder.embed(SENTENCES[:2])), atol=1e-5)
    assert np.array_equal(again, first[[1, 0, 1]])
    assert np.allclose(vectors.embed_query(SENTENCES[2]), embedder.embed_query(SENTENCES[2]),
                       atol=1e-5)

    vectors.embed([SENTENCES[3]])  # a fourth sentence: the least recently used one goes
    counted.asked.clear()
    vectors.embed(SENTENCES)
    assert counted.asked == [SENTENCES[1]]  # (0 was used after 1, then 2 and 3 came)
