"""The words of a text as the lexical index counts them: lower case, stop words left out.

One definition for BM25 (ingest.lexical) and for what the answer path counts as a sentence's
content words (app.answer.support).
"""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has",
    "have", "how", "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or",
    "should", "so", "than", "that", "the", "their", "then", "there", "these", "this", "to",
    "was", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your",
})


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry its content: lower case, stop words left out."""
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def name_key(name: str) -> str:
    """One key for the spellings of one name: "VX-7739", "vx7739" and "VX 7739" alike."""
    return "".join(WORD.findall(name.lower()))


def written_form(text: str, word: str) -> str:
    """The word of ``text`` that holds ``word`` as the writer wrote it: "S7-1200" for the
    "1200" read from it (an operator told "not mentioned: 1200" cannot tell which thing was
    meant); ``word`` itself when no word of the text holds it."""
    for written in text.split():
        written = written.strip(".,;:?!()[]{}\"'")
        if word in WORD.findall(written.lower()):
            return written
    return word


def as_written(text: str, names: list[str]) -> tuple[str, ...]:
    """``names`` of things ``text`` names, one each: "VX-7739" and the tag "vx7739" read from
    it are one thing, said as the text wrote it (sorted)."""
    chosen: dict[str, str] = {}
    for name in names:
        key = name_key(name)
        if key not in chosen or (name.lower() in text.lower()
                                 and chosen[key].lower() not in text.lower()):
            chosen[key] = name
    return tuple(sorted(chosen.values()))
