"""Check a generated answer against the passages it cites, after it streams.

Whatever model writes the answer, the operator must be able to tell what comes from the
plant's documents. The checkable facts of an answer — numbers with units, fault codes,
equipment tags, part numbers, commands and paths — are looked up in the cited passages;
one found in none of them is flagged "not in the cited pages". An answer that repeats
itself is stopped early and labelled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.contract import Chunk
from ingest.tags import all_codes, equipment_tags, fault_codes

_UNITS = {
    "°c": "°c", "ºc": "°c", "degc": "°c", "°f": "°f", "ºf": "°f", "mm": "mm", "cm": "cm",
    "m": "m", "km": "km", "in": "in", "inch": "in", "inches": "in", "ft": "ft", "kw": "kw",
    "w": "w", "v": "v", "kv": "kv", "a": "a", "ma": "ma", "hz": "hz", "khz": "khz",
    "rpm": "rpm", "bar": "bar", "psi": "psi", "mpa": "mpa", "kpa": "kpa", "pa": "pa",
    "nm": "nm", "n·m": "nm", "kg": "kg", "g": "g", "lb": "lb", "lbs": "lb", "l": "l",
    "ml": "ml", "gal": "gal", "%": "%", "s": "s", "sec": "s", "secs": "s", "second": "s",
    "seconds": "s", "ms": "ms", "us": "µs", "µs": "µs", "usec": "µs", "min": "min",
    "mins": "min", "minute": "min", "minutes": "min", "h": "h", "hr": "h", "hrs": "h",
    "hour": "h", "hours": "h", "mm/min": "mm/min", "mm/s": "mm/s", "mm/sec^2": "mm/s²",
    "mm/s^2": "mm/s²", "steps/mm": "steps/mm", "ohm": "ohm", "ohms": "ohm", "Ω": "ohm",
}
_UNIT_PATTERN = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QUANTITY = re.compile(rf"(?<![\w.-])(\d+(?:[.,]\d+)?)\s?({_UNIT_PATTERN})(?![\w/])",
                       re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])")
# Part numbers: letters and digits joined by - or / (6204-2RS, 1492-SP1C100, 40-50-1).
_PART = re.compile(r"(?<![\w-])(?=[\w/-]*\d)(?=[\w/-]*[A-Za-z])[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)+"
                   r"(?![\w-])")
_CODE_SPAN = re.compile(r"`([^`\n]{2,200})`")
_COMMAND = re.compile(r"(?:(?<=\s)|^)(\$[A-Za-z#$][\w=.#-]*|(?:sudo|systemctl|nano|vi|rm|cp|mv|"
                      r"chmod|apt|pip)\s+(?:[^\n;,.`]|\.(?=\S)){1,80})", re.MULTILINE)
_GCODE = re.compile(r"\b[GM]\d{1,3}(?:\.\d)?\b")
_PATH = re.compile(r"(?<![\w.])(?:/[\w.+-]+){2,}/?|\b[A-Za-z]:\\[^\s]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_MIN_REPEATED_CHARS = 20


# The kind of flag for a whole sentence no cited passage backs (app.answer.support).
UNSUPPORTED_SENTENCE = "sentence"


@dataclass(frozen=True)
class Flag:
    """Something in an answer the cited passages do not back."""

    kind: str  # number, fault code, tag, part number, command, path, sentence
    text: str
    # where it starts in the answer (marked there, in place); not part of what it is
    at: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.kind == UNSUPPORTED_SENTENCE:
            return f"no cited page says: “{self.text}”"
        if self.kind == "citation":  # a sentence of its own, not "citation the answer…"
            return self.text
        return f"{self.kind} {self.text}"


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def _quantities(text: str) -> set[tuple[str, str]]:
    return {(m.group(1).replace(",", "."), _UNITS[m.group(2).lower()] if m.group(2).lower()
             in _UNITS else m.group(2)) for m in _QUANTITY.finditer(text)}


def _supports_quantity(number: str, unit: str, passages: str) -> bool:
    """The number stands in a passage with its unit close after it (a table row names the
    unit in its header, "24 Homing feed rate mm/min 25.0")."""
    for m in _NUMBER.finditer(passages):
        if m.group(0).replace(",", ".") != number:
            continue
        tail = passages[m.end():m.end() + 60]
        if any(_UNITS.get(u.lower()) == unit for u in re.findall(_UNIT_PATTERN, tail, re.I)):
            return True
    return False


def unsupported_claims(answer: str, passages: Sequence[Chunk]) -> list[Flag]:
    """The checkable facts of ``answer`` found in none of ``passages``, in order of kind."""
    joined = "\n".join(p.text for p in passages)
    folded = _folded(joined)
    codes = all_codes(joined) | {c for p in passages for c in (*p.fault_codes,
                                                               *p.equipment_tags)}
    flags: list[Flag] = []
    for number, unit in sorted(_quantities(answer)):
        if not _supports_quantity(number, unit, joined):
            first = next((m.start() for m in _QUANTITY.finditer(answer)
                          if _quantities(m.group(0)) == {(number, unit)}), None)
            flags.append(Flag("number", f"{number} {unit}", first))
    flags += [Flag("fault code", c.upper(), _find(c, answer))
              for c in sorted(fault_codes(answer) - codes) if c != "e-stop"]
    flags += [Flag("tag", t.upper(), _find(t, answer))
              for t in sorted(equipment_tags(answer) - codes)]
    seen = {f.text.lower() for f in flags}
    for kind, pattern in (("command", _CODE_SPAN), ("command", _COMMAND), ("path", _PATH),
                          ("command", _GCODE), ("part number", _PART)):
        for m in pattern.finditer(answer):
            item = (m.group(1) if pattern.groups else m.group(0)).strip().rstrip(".,;:`")
            if (not item or any(item.lower() in earlier for earlier in seen)
                    or (kind == "part number" and equipment_tags(item))  # checked as a tag
                    or _folded(item) in folded):
                continue
            seen.add(item.lower())
            flags.append(Flag(kind, item, _find(item, answer, m.start())))
    return flags


def _find(item: str, answer: str, start: int = 0) -> int | None:
    """Where ``item`` (as found, or as normalised by the code readers) stands in the answer."""
    found = answer.lower().find(item.lower(), start)
    if found >= 0:
        return found
    # normalised by the code readers ("P101A" for "P-101A", "alarm 9" for "ALARM:9")
    letters = re.sub(r"[\W_]", "", item)
    loose = re.compile(r"[\s:_-]?".join(map(re.escape, letters)), re.IGNORECASE)
    match = loose.search(answer, start) if letters else None
    return match.start() if match else None


def is_repeating(text: str, times: int = 3) -> bool:
    """The model is in a loop: one sentence of some length said ``times`` times, or the
    text's last stretch already said that often (loops without full stops)."""
    counts: dict[str, int] = {}
    for sentence in _SENTENCE_END.split(text):
        sentence = _folded(sentence)
        if len(sentence) >= _MIN_REPEATED_CHARS:
            counts[sentence] = counts.get(sentence, 0) + 1
            if counts[sentence] >= times:
                return True
    tail = text[-3 * _MIN_REPEATED_CHARS:]
    return len(tail) == 3 * _MIN_REPEATED_CHARS and text.count(tail) >= times
