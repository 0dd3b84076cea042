"""What kind of fact a question asks for, and whether the passages found hold one.

"How much deflection should a V-belt have on the 30 hp fan drive?" finds pages about V-belt
drives, so similarity cannot tell that none of them gives a deflection; but a deflection is
a length, and a page that gives one writes a number with a unit of length. So: the question's
wording names the kind of value it wants (a quantity with a unit class, an interval, money, a
formula), and the answer is "not in the documents" when no sentence of the passages that is
about the question holds a value of that kind. Questions that ask how, why or what something
is ask for no kind, and are left to the evidence model. A small rule set on purpose: each rule
is read and tested on its own, fitted on the development questions only (docs/retrieval.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(?<![\w.])\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?(?:\s*(?:-|to|–)\s*\d+(?:[.,]\d+)?)?\s*"
_WORD_NUMBER = r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|" \
    r"twenty|thirty|sixty)\s+"
# "Cue" words that make a question ask for a value rather than mention a quantity
# ("what torque…", "how far…", "…should be", "max…").
_ASKS = r"(?=.*\b(?:what|whats|how|which|should|must|max\w*|min\w*|allowed|required|spec\w*|" \
    r"recommended|need|needs)\b)"


def _values(units: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{_NUMBER}|{_WORD_NUMBER})(?:{units})(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class FactKind:
    """One kind of value: how a question asks for it and how a passage writes one."""

    name: str  # as the not-found message says it: "give no torque value"
    asks: re.Pattern[str]
    written: tuple[re.Pattern[str], ...]

    def held_in(self, sentence: str) -> bool:
        return any(p.search(sentence) for p in self.written)


_TIME_UNITS = (r"seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?|"
               r"yrs?|shifts?|cycles|operating\s+hours")
_LENGTH_UNITS = (r"mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|m|met(?:er|re)s?|in\.|inch|"
                 r"inches|\"|″|ft|feet|foot|mils?|thou|µm|um|microns?")

KINDS: tuple[FactKind, ...] = (
    FactKind("vibration velocity", re.compile(r"\(\s*(?:mm|in)/s(?:ec)?\s*\)|\bvibration\s+"
                                                r"(?:velocity|limit|level)", re.IGNORECASE),
             (_values(r"mm/s(?:ec)?|in/s(?:ec)?|ips"),)),
    FactKind("torque value", re.compile(
        _ASKS + r".*(?:\btorque\s+(?:spec\w*|value|setting|figure|rating|for|on|of|to)\b|"
        r"\bhow\s+tight|\bhow\s+much\s+torque|\bwhat\s+torque)", re.IGNORECASE),
        (_values(r"n\s*[·.\-]?\s*m|newton[\s-]?met(?:er|re)s?|ft[\s.\-]*lbs?\.?|lbf?[\s.\-]*ft|"
                 r"foot[\s-]pounds?|in[\s.\-]*lbs?|inch[\s-]pounds?|kgf?[\s.\-]*m"),)),
    FactKind("amount of money", re.compile(
        # "fine" alone is mostly "it ran fine"
        r"\bin\s+\$|\b(?:fines|penalt(?:y|ies)|price|prices|dollars?)\b|"
        r"\bfine\s+(?:per|amount)\b|\b(?:max\w*|min\w*|osha|what)\s+fine\b",
        re.IGNORECASE),
        (re.compile(r"\$\s?\d|\b\d[\d,.]*\s*(?:dollars|usd)\b|\busd\s?\d", re.IGNORECASE),)),
    FactKind("formula", re.compile(r"\b(?:formula|equation)\b", re.IGNORECASE),
             (re.compile(r"\b[A-Za-z][A-Za-z0-9]{0,3}\s*=\s*[A-Za-z0-9(]"),)),
    FactKind("time or interval", re.compile(
        r"\bhow\s+(?:often|long|soon|frequently)\b|\bhow\s+many\s+(?:hours|days|weeks|months|"
        r"years|minutes|seconds|shifts)\b|\b(?:interval|intervals|frequency|tbo|time\s+"
        r"between\s+overhauls?)\b|\bin\s+(?:hours|days|minutes|seconds)\b", re.IGNORECASE),
        (_values(_TIME_UNITS),
         re.compile(r"\b(?:daily|weekly|monthly|annually|yearly|quarterly|hourly|"
                    r"(?:every|each|per|a)\s+(?:shift|day|week|month|year|hour)|"
                    r"every\s+\d|once\s+(?:a|per|every)|twice\s+(?:a|per))\b", re.IGNORECASE))),
    FactKind("temperature", re.compile(
        r"\bhow\s+hot\b|\bwhat\s+temperature|\btemperature\s+(?:limit|setting|should|range|"
        r"rating|spec\w*)|\b(?:max|min)\w*\s+(?:\w+\s+)?temperature", re.IGNORECASE),
        (_values(r"°\s*[cf]?|º\s*[cf]?|deg(?:rees)?\.?\s*[cf]?|[cf]"),)),
    FactKind("pressure", re.compile(
        r"\bwhat\s+pressure|\bhow\s+much\s+pressure|\bpressure\s+(?:setting|should|limit|range|"
        r"rating|spec\w*)|\b(?:max|min)\w*\s+(?:\w+\s+)?pressure|\bin\s+(?:psi|bar)\b",
        re.IGNORECASE),
        (_values(r"psi[ag]?|bar|kpa|mpa|pa|inhg|in\.?\s*w\.?c\.?|kg/cm2"),)),
    FactKind("speed", re.compile(
        r"\bwhat\s+speed|\bhow\s+fast\b|\bspeed\s+(?:limit|setting|should)|"
        r"\b(?:max|min)\w*\s+(?:\w+\s+)?speed", re.IGNORECASE),
        (_values(r"rpm|r/min|m/s|ft/min|fpm|mph|km/h|in/s|mm/s|mm/min|in/min"),)),
    FactKind("distance or size", re.compile(
        _ASKS + r".*(?:\bhow\s+(?:far|high|low|deep|wide|thick|close|big)\b|\bhow\s+much\s+"
        r"(?:deflection|clearance|gap|play|slack|sag|runout)\b|\b(?:deflection|clearance|"
        r"tolerances?|spacing|distance|height|gap)\b)", re.IGNORECASE),
        (_values(_LENGTH_UNITS),)),
)


def asked_kind(question: str) -> FactKind | None:
    """The kind of value the question asks for, or None (how-to, why, what-is)."""
    flat = " ".join(question.split())
    return next((kind for kind in KINDS if kind.asks.search(flat)), None)
