"""How the model's answer is cut into the sentences the support check marks, and the rule
that marks one (app.answer.support); the check with the real embedder and index is in
tests/integration/test_sentence_support.py."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.answer.retrieval import split_sentences
from app.answer.support import SupportCheck, answer_sentences, checkable
from ingest.contract import Chunk, DocType


def test_sentences_are_cut_at_their_ends_and_list_items_not_at_decimals_or_abbreviations() -> None:
    text = ("To clear ALARM:9, check the wiring [1]. Then:\n1. Increase $27 to 5.0 mm [2, 3].\n"
            "2. Re-home the machine, e.g. with $H. Version 1.1 is fine.\n- **Bold** item")
    sentences = answer_sentences(text)
    assert [s.text for s in sentences] == [
        "To clear ALARM:9, check the wiring [1].", "Then:", "1. Increase $27 to 5.0 mm [2, 3].",
        "2. Re-home the machine, e.g. with $H.", "Version 1.1 is fine.", "- **Bold** item"]
    assert [s.cited for s in sentences][:3] == [(1,), (), (2, 3)]
    assert all(text[s.start:].startswith(s.text) for s in sentences)  # marks land on them
    assert sentences[2].plain == "Increase $27 to 5.0 mm."
    assert [checkable(s) for s in sentences] == [True, False, True, True, True, False]
    wrapped = answer_sentences("Check your own environment before attempting to\nexplore "
                               "something new.\nThen re-home.")
    assert [s.text for s in wrapped] == [
        "Check your own environment before attempting to\nexplore something new.",
        "Then re-home."]
    fenced = answer_sentences("Run the following:\n```bash\nsudo apt-get install foo\ncd /x\n```")
    assert [s.text for s in fenced] == ["Run the following:", "```bash",
                                        "sudo apt-get install foo", "cd /x", "```"]


class WordVectors:
    """A bag-of-words embedding: enough to test which passages a sentence is compared with."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), 64))
        for row, text in zip(rows, texts, strict=True):
            for word in text.lower().replace(".", " ").split():
                row[self.vocabulary.setdefault(word, len(self.vocabulary) % 64)] += 1
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def chunk(text: str) -> Chunk:
    return Chunk(text=text, file="m.pdf", file_sha256="s", doc_type=DocType.MANUAL,
                 chunk_index=0, page=1)


def words_held(sentence: str, texts: Sequence[str]) -> list[float]:
    words = set(sentence.lower().rstrip(".").split())
    return [len(words & set(t.lower().replace(".", " ").split())) / len(words) for t in texts]


def test_a_sentence_is_checked_against_the_passages_it_cites_itself() -> None:
    passages = {1: chunk("The limit switch wiring must be checked for breaks first."),
                2: chunk("Grease the drive chain every week with light oil please.")}
    check = SupportCheck(WordVectors().embed, words_held, split_sentences, 0.55, 0.5)
    answer = ("Grease the drive chain every week with light oil [1]. "
              "Grease the drive chain every week with light oil [2].")
    marked = check.unsupported(answer, passages)
    assert [s.cited for s in marked] == [(1,)]  # passage 1 says nothing of the kind
