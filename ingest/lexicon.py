"""Maintenance abbreviations: "c/o l/h hyd cyl" also reads "change out left hand hydraulic
cylinder", so a question in full words finds the work order, and one in shop-floor
shorthand finds the manual's words.

The shipped lexicon (``ingest/data/maintenance_abbreviations.tsv``, derived from real work
orders) is extended by the plant's own ``<data_dir>/lexicon.tsv``; a plant entry wins.
Expansions are appended, never substituted: the original words stay searchable and the
text an operator reads is never changed.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

PLANT_FILE = "lexicon.tsv"


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
        alternatives = "|".join(re.escape(a) for a in sorted(entries, key=len, reverse=True))
        # an abbreviation stands alone: not inside a word, a number or a longer shorthand
        self._pattern = (re.compile(rf"(?<![\w/]){'(?:' + alternatives + ')'}(?![\w/])")
                         if entries else None)

    @classmethod
    def load(cls, plant_file: Path | None = None) -> Lexicon:
        shipped = resources.files("ingest").joinpath("data/maintenance_abbreviations.tsv")
        entries = _read(shipped.read_text("utf-8"), "maintenance_abbreviations.tsv")
        if plant_file is not None and plant_file.is_file():
            entries |= _read(plant_file.read_text("utf-8"), str(plant_file))
        return cls(entries)

    def expand(self, text: str) -> str:
        """``text`` followed by the expansions of the abbreviations in it."""
        if self._pattern is None:
            return text
        found = dict.fromkeys(self.entries[m.group(0)]
                              for m in self._pattern.finditer(text.lower()))
        return f"{text}\n{' '.join(found)}" if found else text
