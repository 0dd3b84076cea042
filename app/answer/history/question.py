"""Is a question a history, list or count question, and about what?

"What has been done on QR0218?", "how many times has a machine needed a jump start?",
"parkbrake door alarm keeps playing up - been fixed on other trucks b4?": the phrasing that
asks for the record, the subject words left once it is taken away (stemmed, Snowball), the
words joined by "or", and what the logs rarely hold (who, cost, downtime). Pure text work:
the finder (``finder``) brings the work orders.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import snowballstemmer

HISTORY = re.compile(
    r"\b(how\s+many\s+(?:times|work|jobs|machines|trucks|units)|how\s+often\s+(?:has|have|did)|"
    r"history|histories|happened\s+before|seen\s+(?:\w+\s+)?before|"
    r"b4|been\s+done|work\s*orders?|on\s+record|logged|record\s+of|"
    r"previous|been\s+fixed|been\s+replaced|been\s+wrong|change[\s-]?outs?|"
    r"which\s+(?:trucks?|machines?|units?|assets?|excavators?|loaders?|shovels?|drills?))\b",
    re.IGNORECASE)
# Words that ask for the record in "radiator jobs" or "past jobs" but are everyday words in
# a question about the manuals ("alm1 mid job", "how do I get past it", "past the rings",
# "which jobs count as servicing"): they route a question only when the passage retrieval
# ranks first for it is a work order.
HISTORY_LOOSE = re.compile(r"\b(jobs?|past|before\?)(?=\W|$)", re.IGNORECASE)
# Asking how to do something or for a value: work orders hold neither, so finding only work
# orders for such a question ("how much deflection should a V-belt have") does not make it a
# history question; retrieval's not-found decision answers it.
INSTRUCTION = re.compile(
    r"\b(how\s+(?:do|does|should|to|can|much|far|high|long|tight)\b(?!\s+(?:times|did|has|have))|"
    r"what\s+(?:is|are|should)\s+the|should\s+(?:i|we|it|be)|recommended|spec|specs|"
    r"tolerances?|interval)\b", re.IGNORECASE)
# A follow-up about the machine the question before named: "what's been done on it?"
REFERS_BACK = re.compile(r"\b(it|its|it's|that\s+(?:one|machine|truck|unit)|this\s+(?:one|"
                         r"machine|truck|unit)|the\s+same\s+(?:one|machine|truck|unit))\b",
                         re.IGNORECASE)
# Words of the history phrasing and of the question's grammar: not the subject.
_NOT_SUBJECT_WORDS = """
a again an and any anyone anything are as at b4 be been before booked by can could did do
does done else etc ever for from get got had happen happened has have history how i if in
into is it its job jobs just keep keeps kept last like list logged lol machine machines
many me mention mentioned mentions much my need needed needs no of often on one or order orders
other others our out over past please pls previous record records report reported reports
s seen show so some something than that the their them then there these they this those
times to truck trucks unit units up was wat we were what whats when where which who why
will with work wrong you your
acting crapping issue issues playing problem problems probs trouble
"""
_NOT_SUBJECT = frozenset(_NOT_SUBJECT_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
# What a question may ask that a work-order export rarely holds, and the columns that would.
MISSING_DATA = {
    "who did the work": (re.compile(r"\b(who|which\s+(fitter|tech\w*|mechanic|electrician|"
                                    r"person|guy|crew))\b", re.IGNORECASE),
                         ("technician", "fitter", "assigned_to", "performed_by", "crew",
                          "mechanic")),
    "cost": (re.compile(r"\b(cost|costs|price|\$|dollars?|how\s+much\s+did)\b", re.IGNORECASE),
             ("cost", "total_cost", "labour_cost", "material_cost", "price")),
    "downtime": (re.compile(r"\b(downtime|down\s+time|how\s+long\s+(was|were)\s+\w+\s+down)\b",
                            re.IGNORECASE), ("downtime", "downtime_hours", "hours_down")),
}


_STEMMING = threading.Lock()


@functools.lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball's English stem. One stemmer object keeps its word in itself while it works, so
    questions answered at once take turns (seen under load: IndexError inside the stemmer)."""
    with _STEMMING:
        return str(_stemmer().stemWord(word))


def words_of(normalised: str) -> list[str]:
    """Stemmed words of normalised text ("brakes dragging" -> ["brake", "drag"])."""
    return [stem(w) for w in _WORD.findall(normalised)]


# The ways a work order says its thing does not work. A question's "not working" asks for a
# failure of the thing, however it was written: "windscreen washer don't work", "… button
# u/s", "… bottle broken" (the lexicon has already made "u/s" unserviceable, "n/w" not working).
_FAILED = re.compile(
    r"\b(?:(?:not|don\W?t|doesn\W?t|do\s+not|does\s+not|won\W?t|wont|will\s+not)\s+work"
    r"(?:s|ing|ed)?|unserviceable|inoperable|inoperative|faulty|faults?|broken|dead|failed|"
    r"failing|failures?|defective)\b")
FAILED = "<failed>"  # the one word that stands for all of them (no text holds it)


def order_words(normalised: str) -> frozenset[str]:
    """A work order's stemmed words, and ``FAILED`` when it says its thing does not work."""
    return frozenset(words_of(normalised)) | ({FAILED} if _FAILED.search(normalised) else set())


def failure_phrases(normalised: str) -> set[str]:
    """The words of its ways of saying "does not work" ("not", "working"): no work order
    need hold them as written."""
    return {w for m in _FAILED.finditer(normalised) for w in _WORD.findall(m.group())}


def subject_words(normalised: str) -> list[str]:
    """A subject's stemmed words, its ways of saying "does not work" one ``FAILED``."""
    failed = [FAILED] if _FAILED.search(normalised) else []
    return list(dict.fromkeys(words_of(_FAILED.sub(" ", normalised)) + failed))


@dataclass(frozen=True)
class HistoryQuestion:
    text: str
    assets: tuple[str, ...] = ()  # normalised ids work orders carry: qr0218
    unknown: tuple[str, ...] = ()  # ids named that no work order carries
    subject: tuple[str, ...] = ()  # the words the work orders must match, normalised
    missing: tuple[str, ...] = ()  # what the question asks that the logs do not hold
    # subject words the question joins with "or" ("smashed or broken mirror"): either will do
    alternatives: tuple[tuple[str, str], ...] = ()
    # its words ask for the record ("history", "seen b4?", "which work orders"), rather than
    # its passages being work orders ("jake brake not working")
    asks_for_records: bool = False




def subject_of(normalised: str, ids: Sequence[str]
               ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The subject's words of a (normalised) question, and the pairs of them the question
    joins with "or" (the nearest subject word either side: "bent or damaged rock ejectors",
    "inspections or leaks")."""
    text = HISTORY_LOOSE.sub(" ", HISTORY.sub(" ", normalised))
    for pattern, _ in MISSING_DATA.values():
        text = pattern.sub(" ", text)
    tokens = _WORD.findall(text)
    kept = [w not in _NOT_SUBJECT and w not in ids and not w.isdigit() for w in tokens]
    pairs = []
    for i, word in enumerate(tokens):
        if word != "or":
            continue
        before = next((tokens[j] for j in range(i - 1, -1, -1) if kept[j]), None)
        after = next((tokens[j] for j in range(i + 1, len(tokens)) if kept[j]), None)
        if before and after and before != after:
            pairs.append((before, after))
    return tuple(w for w, keep in zip(tokens, kept, strict=True) if keep), tuple(pairs)


def word_groups(question: HistoryQuestion, subject: list[str]) -> list[frozenset[str]]:
    """The subject's (stemmed) words as groups a work order must hold one word of: a word
    alone, or the words the question joins with "or"."""
    groups = {w: frozenset({w}) for w in subject}
    for a, b in question.alternatives:
        left, right = subject_words(a), subject_words(b)
        if len(left) == len(right) == 1 and left[0] in groups and right[0] in groups:
            joined = groups[left[0]] | groups[right[0]]
            groups |= dict.fromkeys(joined, joined)
    return list(dict.fromkeys(groups[w] for w in subject))


def closest_asset(unknown: str, known: Counter[str]) -> str | None:
    """The known asset id one slip away (a swapped or mistyped character), if any."""
    close = difflib.get_close_matches(unknown, list(known), n=1, cutoff=0.8)
    return close[0] if close else None
