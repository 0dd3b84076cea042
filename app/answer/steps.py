"""The page's own instructions, for questions that ask what to do.

"ALARM:2 — what should I do?" is answered first by the row that says what the code means; the
manual's recovery sentences ("Send $X to unlock", "Re-home the machine") sit elsewhere in the
passages found, and without them the only "what to do" on the screen is the model's. So for a
question that asks what to do, the instruction sentences of the passages quoted from — an
imperative verb first, a numbered step, "to clear …" — are quoted too, word for word, each
with its source. Never a sentence that defeats a safety device or addresses an AI, and never
another code's row of a code table (its remedy is for that code, not the one asked about).
"""

from __future__ import annotations

import re

from ingest.hazards import hazards_in

# What a question says when it wants an action, not a meaning.
_ASKS_WHAT_TO_DO = re.compile(
    r"\b(?:what\s+(?:should|do|can|must)\s+(?:i|we|you)\s+do|what\s+now|what\s+next|"
    r"how\s+(?:do|can|should|would)\s+(?:i|we|you)|how\s+to|(?:the|what|which)\s+steps\b(?!/)|"
    r"steps\s+(?:to|for)|procedure|fix|"
    r"recover|clear|reset|unlock|resolve|get\s+rid|troubleshoot|what\s+(?:should|do)\s+i\s+check)",
    re.IGNORECASE)

# Verbs an instruction starts with in maintenance manuals (imperative mood).
_VERBS = frozenset({
    "adjust", "allow", "apply", "attach", "bleed", "calibrate", "call", "change", "check",
    "clean", "clear", "close", "confirm", "connect", "consult", "contact", "cycle",
    "de-energize", "decrease", "disable", "disconnect", "drain", "enable", "ensure", "fill",
    "follow", "grease", "home", "increase", "inspect", "install", "isolate", "jog", "keep",
    "lock", "lockout", "loosen", "lubricate", "make", "measure", "mount", "move",
    "open", "perform", "power", "press", "pull", "push", "raise", "re-home", "reconnect",
    "record", "reduce", "refer", "refill", "rehome", "reinstall", "release", "remove",
    "repeat", "replace", "report", "reseat", "reset", "restart", "restore", "retighten",
    "return", "rotate", "run", "secure", "send", "set", "shut", "start", "stop", "switch",
    "tag", "test", "tighten", "try", "turn", "unlock", "unplug", "update", "use", "verify",
    "wait", "wipe",
})
_NUMBERING = re.compile(r"^(?:\(?\d{1,2}[.)]|\(?[a-h][.)]|step\s+\d{1,2}[:.]?|[•\-–*])\s*",
                        re.IGNORECASE)
_TO_DO = re.compile(r"^(?:to\s+(?:clear|reset|recover|unlock|restart|resume|exit|cancel|fix)\b|"
                    r"(?:do\s+not|never|always)\b)", re.IGNORECASE)
_MIN_WORDS = 4


def asks_what_to_do(question: str) -> bool:
    """Whether the question wants an action (what to do, how to fix), not a meaning."""
    return bool(_ASKS_WHAT_TO_DO.search(question))


def is_instruction(sentence: str) -> bool:
    """An imperative sentence, a numbered step or a "to clear …" sentence, of some length,
    and not one that tells the reader to defeat a safety device (or addresses an AI)."""
    words = sentence.split()
    if len(words) < _MIN_WORDS or hazards_in(sentence):
        return False
    text = _NUMBERING.sub("", sentence.strip()).lstrip("\"'(")
    if not text[:1].isupper():  # the middle of a sentence cut at a passage's start
        return False
    first = re.split(r"[\s,:;]", text.lower(), maxsplit=1)[0]
    return first in _VERBS or bool(_TO_DO.match(text))
