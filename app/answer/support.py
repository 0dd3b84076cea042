"""Whether each sentence of the model's answer is backed by the passages it cites.

The fact checks (app.answer.verification) catch a number, code, part number or command the
cited pages lack; an invented step ("remove the gear box from the press brake") holds none of
those and reads as authoritative as the quotes. So every sentence of the model's text that
claims something is compared with the passages it cites (its own [n] markers, else the
answer's, else all it was given): by the share of its IDF-weighted words the passages hold,
and by the embedding similarity of its closest passage sentence (the embedder already loaded,
the passages' sentence vectors mostly kept from picking the quotes). A sentence low on both
is marked where it stands. The two thresholds (settings.retrieval.support_*) were fitted on
labelled dev answers and checked on confirm (benchmarks/sentence_support.py, docs/retrieval.md).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ingest.contract import Chunk
from ingest.words import content_words

_log = logging.getLogger(__name__)


# A sentence ends at . ! ? before a capital, digit, quote or bracket, and at a line break —
# but not where a hard-wrapped line goes on in lower case ("before attempting to\nexplore").
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`$*])|\n(?!\s*[a-z])")
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_FENCE = re.compile(r"^\s*(?:```|~~~).*?(?:^\s*(?:```|~~~)|\Z)", re.MULTILINE | re.DOTALL)
_LIST_NUMBER = re.compile(r"\d{1,2}[.)]")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|#+)\s+")
_MIN_WORDS = 3  # content words; fewer says nothing checkable ("Here is what to do:")
# One thread embeds passages while the model writes (app.answer.answering): their vectors are
# kept (app.answer.vectors), so the check after the stream finds them ready.
_PREPARING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="support-check")


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence (or list item) of the model's text, as written."""

    text: str
    start: int  # where it starts in the answer: a mark is placed at its end
    cited: tuple[int, ...]  # the passage numbers it cites itself

    @property
    def plain(self) -> str:
        """The words, without citation markers or list bullets."""
        words = _MARKERS.sub("", _LIST_MARK.sub("", self.text)).replace("**", "")
        return " ".join(words.split())


def answer_sentences(answer: str) -> list[AnswerSentence]:
    """The sentences and list items of ``answer``, in order (markdown bullets and numbers kept
    in ``text``); not cut at "e.g. with", a decimal point, a version number or a line the
    model wrapped mid-sentence."""
    sentences: list[AnswerSentence] = []
    start = 0
    ends = {m.start() for m in _BOUNDARY.finditer(answer)}
    for fence in _FENCE.finditer(answer):  # each line of a code block is one item
        ends |= {fence.start() + i for i, c in enumerate(fence.group(0)) if c == "\n"}
    for end in [*sorted(ends), len(answer)]:
        piece = answer[start:end]
        text = piece.strip()
        if sentences and _LIST_NUMBER.fullmatch(sentences[-1].text):  # "1." of "1. Check …"
            at = sentences.pop().start
            text = answer[at:end].strip()
        elif text:
            at = start + len(piece) - len(piece.lstrip())
        if text:
            cited = tuple(int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", text)
                          for n in group.split(","))
            sentences.append(AnswerSentence(text, at, cited))
        start = end
    return sentences


def checkable(sentence: AnswerSentence) -> bool:
    """A sentence that claims something: enough content words to be wrong ("So the answer
    is yes." and "Here is how it works:" are not checked)."""
    return len(content_words(sentence.plain)) >= _MIN_WORDS


class SupportCheck:
    """Marks the sentences of an answer that its cited passages do not back. One per answer:
    what it embeds in the background while the model writes is waited for by the check."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray],
                 coverages: Callable[[str, Sequence[str]], list[float]],
                 pieces: Callable[[str], list[str]], similarity_below: float,
                 coverage_below: float) -> None:
        self._embed = embed
        self._coverages = coverages
        # the units a sentence is compared with: the passage's quotable sentences and pairs of
        # them (the pieces the quotes are picked from, so most of their vectors are kept)
        self._pieces = pieces
        self.similarity_below = similarity_below
        self.coverage_below = coverage_below
        self._submitted: set[str] = set()
        self._pending: Future[None] | None = None

    def prepare(self, passages: Sequence[Chunk]) -> None:
        """Embed the pieces of ``passages`` in the background, while the model writes."""
        self._submit([p for chunk in passages for p in self._pieces_of(chunk)])

    def prepare_sentences(self, partial_answer: str) -> None:
        """Embed the sentences the model has finished so far (all but the last) in the
        background: after the stream only its last sentence is left to embed."""
        done = [s.plain for s in answer_sentences(partial_answer)[:-1] if checkable(s)]
        fresh = [text for text in done if text not in self._submitted]
        if fresh:
            self._submit(fresh)

    def _submit(self, texts: list[str]) -> None:
        self._submitted.update(texts)
        self._pending = _PREPARING.submit(self._embed_only, texts)

    def _embed_only(self, texts: list[str]) -> None:
        self._embed(texts)

    def ready(self) -> None:
        """Wait for what was submitted (one thread, in order: the last one done is all)."""
        if self._pending is None:
            return
        try:
            self._pending.result()
        except Exception:  # the check embeds what is missing itself; nothing is lost
            _log.exception("embedding for the sentence check in the background failed")

    def _pieces_of(self, chunk: Chunk) -> list[str]:
        return self._pieces(chunk.text) or [" ".join(chunk.text.split())]

    def scores(self, answer: str, passages: Mapping[int, Chunk]
               ) -> list[tuple[AnswerSentence, float, float]]:
        """(sentence, similarity, coverage) of each checkable sentence: its closest passage
        piece's cosine similarity and the IDF-weighted share of its words the passages hold
        — the passages it cites, else those the answer cites, else all it was given."""
        sentences = [s for s in answer_sentences(answer) if checkable(s)]
        if not sentences or not passages:
            return []
        self.ready()
        answer_cites = {n for s in sentences for n in s.cited if n in passages}
        pieces = {n: self._pieces_of(chunk) for n, chunk in passages.items()}
        order = [(n, piece) for n, listed in pieces.items() for piece in listed]
        vectors = self._embed([piece for _, piece in order] + [s.plain for s in sentences])
        passage_vectors, sentence_vectors = vectors[:len(order)], vectors[len(order):]
        owner = np.array([n for n, _ in order])
        scored = []
        for sentence, vector in zip(sentences, sentence_vectors, strict=True):
            own = {n for n in sentence.cited if n in passages}
            using = own or answer_cites or set(passages)
            rows = np.isin(owner, sorted(using))
            similarity = float((passage_vectors[rows] @ vector).max()) if rows.any() else 0.0
            joined = "\n".join(passages[n].text for n in sorted(using))
            scored.append((sentence, similarity, self._coverages(sentence.plain, [joined])[0]))
        return scored

    def unsupported(self, answer: str, passages: Mapping[int, Chunk]) -> list[AnswerSentence]:
        """The checkable sentences of ``answer`` low on both similarity and coverage."""
        return [s for s, similarity, coverage in self.scores(answer, passages)
                if similarity < self.similarity_below and coverage < self.coverage_below]
