"""Equipment tags and fault codes: found in text and normalised one way.

Ingest and retrieval use the same functions, so ``P101A`` in a question
matches ``P-101A`` in a manual and ``alarm 2`` matches ``ALARM:2``.
"""

from __future__ import annotations

import re

# Fault codes: ALARM:2, alarm 2, alm9, alrm 8, error:9, Error #22, err 22, E-STOP / estop.
_FAULT = re.compile(r"\b(alarm|alrm|alm|error|err|fault)\s*[:#]?\s*(\d{1,4})\b",
                    re.IGNORECASE)
_FAULT_WORDS = {"err": "error", "alm": "alarm", "alrm": "alarm"}
# Code tables: under an "Alarm Codes" / "Error Codes" heading, each row starts with its number
# ("2 Soft limit Soft limit alarm…"), so the code is not written as ALARM:2 anywhere.
_CODE_HEADING = re.compile(r"^\s*(\w+)\s+codes?\s*$", re.IGNORECASE)
_TABLE_ROW = re.compile(r"^\s*(\d{1,4})\s+[A-Za-z$<]")
_TABLE_KINDS = {"alarm": "alarm", "error": "error", "fault": "fault"}
_ESTOP = re.compile(r"\be-?\s?stop\b", re.IGNORECASE)
# Questions write error 15 as E15 or E-15 ("E15 when jogging"); a plant may also have a tag E15.
_E_CODE = re.compile(r"\bE-?(\d{1,3})\b", re.IGNORECASE)
# Words with digits that name one thing - a model, card, part or standard number (840D, 7i96,
# hm2, ISO 10816, alarm 25050) - as opposed to a quantity (30 hp, 1800 rpm, 1.7A, 20x, 2nd).
_NUMBERED_WORD = re.compile(r"(?<![\w.])([A-Za-z0-9]*\d[A-Za-z0-9]*)(?![\w]|\.\d)")
# Units and counters: after a number, in one token ("10mm", "3rd") or as the next word
# ("10 minutes"), they make it a quantity, not a code.
_UNIT_WORD_LIST = """
mm cm m km kw kwh kva w wh hp rpm v vdc vac kv a ma ah mah amp amps hz khz mhz bar psi psig kpa
mpa nm kg lb lbs oz in inch inches ft s ms sec secs second seconds min mins minute minutes h hr
hrs hour hours day days wk wks week weeks month months yr yrs year years x k times ton tons t
deg degc degf degrees c f mph gpm lpm cfm l ml gal g ph ohm ohms kohm kohms uf nf pf kb mb gb
tb cycles hits parts pcs
"""
_UNIT_WORDS = frozenset(_UNIT_WORD_LIST.split())
_QUANTITY = re.compile(r"(\d+)(?:st|nd|rd|th|"
                       + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True)) + ")")
# Equipment tags: PH639, P-101A, DE8488, TU082, CV-12. Letters then digits, optional
# dash and suffix letter. Needs an upper-case prefix in the source text to avoid
# matching ordinary words; questions are matched case-insensitively (see tags_in_query).
_TAG = re.compile(r"\b([A-Z]{1,4})-?(\d{2,5})([A-Z]?)\b")
_TAG_ANY_CASE = re.compile(r"\b([A-Za-z]{1,4})-?(\d{2,5})([A-Za-z]?)\b")
_UNITS = {"mm", "cm", "m", "kw", "hp", "rpm", "v", "kv", "a", "ma", "hz", "bar", "psi", "nm",
          "kg", "lb", "in", "ft", "s", "ms", "min", "h", "iso", "din", "en", "m20", "g", "dd"}


def _numbered_fault_codes(text: str) -> set[str]:
    return {f"{_FAULT_WORDS.get(m.group(1).lower(), m.group(1).lower())}:{int(m.group(2))}"
            for m in _FAULT.finditer(text)}


def table_codes(text: str, kind: str | None) -> tuple[set[str], str | None]:
    """Codes of the rows of alarm/error code tables in ``text``, given the table ``kind`` in
    force where it starts (a table continues across pages); and the kind in force at its
    end. A heading of another kind of codes ("Setting Codes") ends the table."""
    codes: set[str] = set()
    for line in text.splitlines():
        heading = _CODE_HEADING.match(line)
        if heading:
            kind = _TABLE_KINDS.get(heading.group(1).lower())
        elif kind and (row := _TABLE_ROW.match(line)):
            codes.add(f"{kind}:{int(row.group(1))}")
    return codes, kind


def table_rows(text: str, numbers: set[int]) -> list[str]:
    """The rows of a code table in ``text`` whose number is in ``numbers``, each with its
    continuation lines up to the next row ("9 Homing fail Homing fail. Could not find limit
    switch… Try increasing max travel…")."""
    rows: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        row = _TABLE_ROW.match(line)
        if row or _CODE_HEADING.match(line):
            if current:
                rows.append(" ".join(" ".join(current).split()))
            current = [line] if row and int(row.group(1)) in numbers else None
        elif current is not None:
            current.append(line)
    if current:
        rows.append(" ".join(" ".join(current).split()))
    return rows


def fault_codes(text: str) -> set[str]:
    """Numbered codes, plus ``e-stop``: operators search for it like a code."""
    return _numbered_fault_codes(text) | ({"e-stop"} if _ESTOP.search(text) else set())


def _tags(pattern: re.Pattern[str], text: str) -> set[str]:
    found = set()
    for m in pattern.finditer(text):
        prefix, number, suffix = m.group(1).lower(), m.group(2), m.group(3).lower()
        if prefix in _UNITS or prefix in {"alarm", "error", "fault", "err"}:
            continue
        found.add(f"{prefix}{number}{suffix}")
    return found


def equipment_tags(text: str) -> set[str]:
    """Tags as written in documents (upper-case prefix), normalised: P-101A -> p101a."""
    return _tags(_TAG, text)


def _e_codes(text: str) -> set[str]:
    return {f"error:{int(m.group(1))}" for m in _E_CODE.finditer(text)}


def identifiers_in_query(text: str) -> set[str]:
    """Equipment tags and numbered fault codes in a question: each names one machine or one
    fault, so a passage carrying it is about the question (``e-stop`` is not one: every
    machine has an e-stop)."""
    return _tags(_TAG_ANY_CASE, text) | _numbered_fault_codes(text) | _e_codes(text)


def tags_in_query(text: str) -> set[str]:
    """Tags and codes in a question, where operators type any case."""
    return _tags(_TAG_ANY_CASE, text) | fault_codes(text) | _e_codes(text)


def asset_tags_in_query(text: str) -> set[str]:
    """The equipment tags a question (any case) names: "ph639", "p101a"."""
    return _tags(_TAG_ANY_CASE, text)


def codes_in_query(text: str) -> set[str]:
    """The fault codes a question names: "alarm:1", "error:15" (also written E15)."""
    return fault_codes(text) | _e_codes(text)


def spellings(identifier: str) -> set[str]:
    """The other ways the index may hold one identifier of a question: ``E15`` is error 15
    or a tag E15, so it is unknown to the index only when neither is there."""
    if m := re.fullmatch(r"e(\d{1,3})", identifier):
        return {f"error:{int(m.group(1))}"}
    if m := re.fullmatch(r"error:(\d{1,3})", identifier):
        return {f"e{m.group(1)}", f"e{int(m.group(1)):02d}"}
    return set()


def numbered_words(text: str) -> set[str]:
    """Words with digits in a question that name one thing rather than a quantity: a model or
    card (840D, 7i96, hm2), a part, a standard or alarm number of four digits or more (ISO
    10816, alarm 25050). The index holding none of them is evidence it does not answer;
    two-character words (M6, b4) and years are left out."""
    found = set()
    for m in _NUMBERED_WORD.finditer(text):
        word = m.group(1).lower()
        following = text[m.end():m.end() + 16].split()
        unit = bool(following) and following[0].strip(".,;:?!()/").lower() in _UNIT_WORDS
        if word.isdigit():
            if len(word) >= 4 and not unit and not re.fullmatch(r"(19|20)\d\d", word):
                found.add(word)
        elif len(word) >= 3 and not _QUANTITY.fullmatch(word) and not _FAULT.fullmatch(word):
            found.add(word)  # (a code glued to its word, "alm1", is read as alarm:1 instead)
    return found


def all_codes(text: str) -> set[str]:
    return equipment_tags(text) | fault_codes(text)
