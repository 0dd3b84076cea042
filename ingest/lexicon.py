"""Maintenance abbreviations: "c/o l/h hyd cyl" also reads "change out left hand hydraulic
cylinder", so a question in full words finds the work order, and one in shop-floor
shorthand finds the manual's words.

The shipped lexicon (``ingest/data/maintenance_abbreviations.tsv``, derived from real work
orders) is extended by the plant's own ``<data_dir>/lexicon.tsv``; a plant entry wins.
Expansions are appended, never substituted: the original words stay searchable and the
text an operator reads is never changed.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path

PLANT_FILE = "lexicon.tsv"
_EDGE_PUNCTUATION = ".,;:!?()[]{}\"'"


def _read(text: str, source: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"{source} line {number}: write 'abbreviation<TAB>expansion'")
        entries[parts[0].strip().lower()] = parts[1].strip().lower()
    return entries


class Lexicon:
    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries
        self.digest = hashlib.sha256(repr(sorted(entries.items())).encode()).hexdigest()[:12]
        self.expand = functools.lru_cache(maxsize=65_536)(self._expand)  # chunks recur

    @classmethod
    def load(cls, plant_file: Path | None = None) -> Lexicon:
        shipped = resources.files("ingest").joinpath("data/maintenance_abbreviations.tsv")
        entries = _read(shipped.read_text("utf-8"), "maintenance_abbreviations.tsv")
        if plant_file is not None and plant_file.is_file():
            entries |= _read(plant_file.read_text("utf-8"), str(plant_file))
        return cls(entries)

    def _expand(self, text: str) -> str:
        """``text`` followed by the expansions of the abbreviations in it. An abbreviation is
        a whole word (punctuation around it aside), or a part of a hyphenated one: "A/C,"
        and "c/o-mech" count, "reactor/c" does not. A dictionary look-up per word: ~20x
        cheaper than one regular expression of every abbreviation, per candidate per query."""
        found: dict[str, None] = {}
        for word in text.lower().split():
            word = word.strip(_EDGE_PUNCTUATION)
            for part in (word, *word.split("-")) if "-" in word else (word,):
                if part in self.entries:
                    found[self.entries[part]] = None
                    break
        return f"{text}\n{' '.join(found)}" if found else text

    def normalise(self, text: str) -> str:
        """``text`` in full words, lower-case: each abbreviation replaced by its expansion
        ("C/O L/H HYD CYL" -> "change out left hand hydraulic cylinder"). For the work-order
        records, whose words are compared with a question's; the text shown stays as written."""
        words = []
        for raw in text.lower().split():
            word = raw.strip(_EDGE_PUNCTUATION)
            parts = word.split("-") if "-" in word and word not in self.entries else [word]
            words.append("-".join(self.entries.get(p, p) for p in parts) if word else raw)
        return " ".join(words)
