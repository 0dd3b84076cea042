"""Answers and passages as Markdown for the UI; document text is shown as text."""

from __future__ import annotations

import html
import re

from app.answer.answering import WEAK_NOTICE, AnswerStatus, AnswerUpdate, Citation, Quote
from app.answer.verification import UNSUPPORTED_SENTENCE, Flag
from ingest.hazards import WARNINGS

_STATUS_NOTE = {
    AnswerStatus.INCOMPLETE: "⚠️ **Incomplete answer.**",
    AnswerStatus.MODEL_UNAVAILABLE: "⚠️ **No written answer.**",  # the notice says why
    AnswerStatus.STOPPED: "■ **Stopped: the answer is incomplete.**",  # no emoji font needed
    AnswerStatus.ABSTAINED: "ℹ️ **Not found in the documents.**",
}


def escape_text(text: str) -> str:
    """Neutralise HTML and Markdown control characters in untrusted text."""
    escaped = html.escape(text, quote=False)
    for char in "\\`*_{}[]<>#|!~":  # ~~~ opens a code block as ``` does
        escaped = escaped.replace(char, "\\" + char)
    return escaped


_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_MARKER = re.compile(r"\\\[(\d+)\\\]")  # an escaped [n]


def citation_anchor(answer: int, number: int) -> str:
    """The link target of source ``number`` of answer ``answer``: the page's script turns a
    click on it into "open that page beside the answer" (app/ui/ask.py)."""
    return f"#cite-{answer}-{number}"


def parse_citation_anchor(value: str) -> tuple[int, int] | None:
    """The inverse of citation_anchor, as the page's script reports a click:
    'cite-<answer>-<number>:<click time>' -> (answer, number); None for anything else."""
    parts = (value or "").split(":", 1)[0].split("-")
    if len(parts) != 3 or parts[0] != "cite" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])


def marker(number: int, answer: int | None) -> str:
    """[n], as a link that opens source n of answer ``answer`` when it is given."""
    text = f"\\[{number}\\]"
    return f"[{text}]({citation_anchor(answer, number)})" if answer is not None else text


def link_markers(escaped: str, citations: list[Citation], answer: int | None) -> str:
    """Every [n] of the model's (escaped) text that names a source of this answer, as a link
    that opens it. Document text is never passed here: a "[3]" in a manual is not ours."""
    numbers = {c.number for c in citations}
    return _MARKER.sub(lambda m: marker(int(m.group(1)), answer) if int(m.group(1)) in numbers
                       else m.group(0), escaped)


def render_sources(citations: list[Citation], with_excerpts: bool,
                   answer: int | None = None) -> str:
    if not citations:
        return ""
    lines = ["", "**Sources**" + (" (click one to open its page)" if answer is not None
                                  else ""), ""]
    for c in citations:
        label = escape_text(c.label)
        if answer is not None:
            label = f"[{label}]({citation_anchor(answer, c.number)})"
        lines.append(f"{c.number}. {label}")
        if with_excerpts:
            excerpt = " ".join(c.chunk.text.split())[:300]
            lines.append(f"    > {escape_text(excerpt)}")
    return "\n".join(lines)


def render_hazards(update: AnswerUpdate, answer: int | None = None) -> str:
    """Our warning on a cited passage that defeats a safety device or addresses an AI: first
    on the screen, in the app's words (not the passage's). The sign is ⚠ with a signal word:
    an emoji such as 🛑 is an empty box on a console without an emoji font."""
    return "\n\n".join(f"⚠ **WARNING: {WARNINGS[hazard]}** {marker(number, answer)}"
                        for number, hazard in update.hazards)


def render_safety(update: AnswerUpdate, answer: int | None = None) -> str:
    if not update.safety:
        return ""
    lines = ["⚠️ **Safety notices in the cited documents** (verbatim):", ""]
    lines += [f"> {escape_text(n.text)} {marker(n.citation_number, answer)}"
              for n in update.safety]
    return "\n".join(lines)


def render_quotes(update: AnswerUpdate, answer: int | None = None) -> str:
    """The sentences of the cited pages that answer the question, verbatim, above what the
    model writes: with a weak model they are the useful part of the answer. Then, for a
    question that asks what to do, the pages' own instructions, verbatim too."""
    labels = {c.number: c.label for c in update.citations}

    def quoted(heading: str, quotes: list[Quote]) -> list[str]:
        lines = [heading] if quotes else []
        for q in quotes:
            lines += ["", f"> {escape_text(q.text)}  \n> — "
                          f"{escape_text(labels.get(q.number, ''))} {marker(q.number, answer)}"]
        return lines

    return "\n\n".join("\n".join(part) for part in (
        quoted("**From the documents** (quoted word for word):", update.quotes),
        quoted("**What the pages say to do** (quoted word for word):", update.steps)) if part)


def render_flags(update: AnswerUpdate) -> str:
    """What the cited pages do not back and could not be marked where it stands."""
    unplaced = [f for f in update.flags if f.kind != "citation" and f.at is None]
    if not unplaced:
        return ""
    items = "; ".join(escape_text(str(f)) for f in unplaced)
    return (f"⚠️ **Not in the cited pages:** {items}. Check these against the sources before "
            "acting on them.")


# The end of the sentence a flagged fact stands in: a full stop before a space, or a line end.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_PLACE = re.compile("\x00(\\d+)\x00")


def _marked(text: str, flags: list[Flag]) -> tuple[str, list[list[Flag]]]:
    """``text`` with a placeholder after each sentence holding a fact the cited pages lack,
    and the facts of each placeholder. Placeholders (NUL, number, NUL) survive escaping."""
    text = text.replace("\x00", "")
    at_end: dict[int, list[Flag]] = {}
    for flag in flags:
        if flag.kind == "citation" or flag.at is None or flag.at >= len(text):
            continue
        end = _SENTENCE_END.search(text, flag.at)
        where = len(text) if end is None else end.end() if end.group() != "\n" else end.start()
        at_end.setdefault(where, []).append(flag)
    groups: list[list[Flag]] = []
    for where in sorted(at_end, reverse=True):
        text = f"{text[:where]}\x00{len(groups)}\x00{text[where:]}"
        groups.append(at_end[where])
    return text, groups


def _mark(flags: list[Flag]) -> str:
    """What is said after a sentence: that no cited page backs it, and/or the facts in it
    that the cited pages lack."""
    said = ["no cited page says this"] if any(
        f.kind == UNSUPPORTED_SENTENCE for f in flags) else []
    facts = [escape_text(str(f)) for f in flags if f.kind != UNSUPPORTED_SENTENCE]
    if facts:
        said.append("not in the cited pages: " + "; ".join(facts))
    return " ⚠️ *" + "; ".join(said) + "*"


def render_draft(update: AnswerUpdate, answer: int | None = None) -> str:
    """The model's words, apart from the documents': labelled a draft, in a quieter box of
    their own, each sentence holding a fact the cited pages lack marked where it stands."""
    streaming = update.status is AnswerStatus.STREAMING
    if not streaming and (not update.text or update.status is AnswerStatus.ABSTAINED):
        return ""
    raw, groups = _marked(update.text, update.flags)
    # no line of the model's text is indented into a code block: a command it invented must
    # not look like one to copy (its own lists still read as lists)
    text = link_markers(escape_text(_INDENT.sub("", raw)), update.citations, answer)
    text = _PLACE.sub(lambda m: _mark(groups[int(m.group(1))]), text)
    if streaming:  # the cursor says "still writing": sources show early, the answer is not done
        text = text + " ▌" if update.text else "_Writing the answer…_ ▌"
    uncited = any(f.kind == "citation" for f in update.flags)
    label = ("**Model's draft**: written by the language model from the passages, not the "
             "documents' words" + (" (it cites none of them)" if uncited else "")
             + ". Check it against the quotes.")
    doubtful = " doubtful" if any(f.kind != "citation" for f in update.flags) else ""
    # our own wrapper (sanitised HTML keeps a class): the page styles the draft apart
    draft = f'<div class="model-draft{doubtful}">\n\n{text}\n\n</div>'
    unbacked = [f for f in update.flags if f.kind == UNSUPPORTED_SENTENCE]
    if streaming or sum(len(f.text) for f in unbacked) * 2 < len(update.text):
        return f"{label}\n\n{draft}"
    # mostly what no cited page says: folded away, the quotes stay what the operator reads
    return (f"{label}\n\n<details class=\"model-draft-fold\"><summary>Folded: "
            f"{_plural(len(unbacked), 'sentence')} of it {'is' if len(unbacked) == 1 else 'are'}"
            f" in no cited page. Open to read it.</summary>\n\n{draft}\n\n</details>")


_HOW = {"words": "every word", "meaning": "meaning", "asset": "asset id"}


def _plural(n: int, word: str, shown: str | None = None) -> str:
    """The count and its noun: 3 work orders; ``shown`` stands for a count that is not exact
    (400+ work orders)."""
    return f"{shown or n} {word}" + ("" if n == 1 else "s")


def render_history(update: AnswerUpdate, answer: int | None = None) -> str:
    """A history answer: the count, where and when, and every matching work order in a
    table, each row a link that opens it."""
    history = update.history
    assert history is not None
    parts = []
    if update.status is AnswerStatus.ABSTAINED:
        parts.append(f"ℹ️ **Not in the logs.** {escape_text(update.notice)}".strip())
    elif update.weak:
        parts.append(f"⚠️ **{escape_text(update.notice)}**")
    elif update.notice:
        parts.append(f"ℹ️ {escape_text(update.notice)}")
    if not history.matches:
        return "\n\n".join(parts)
    asked = history.question
    about = (f" on {', '.join(a.upper() for a in asked.assets)}" if asked.assets else "")
    subject = f" matching “{escape_text(' '.join(asked.subject))}”" if asked.subject else ""
    assets = history.per_asset()
    spread = ", ".join(f"{escape_text(a)} ({n})" for a, n in assets[:12])
    more = f" and {len(assets) - 12} more" if len(assets) > 12 else ""
    dates = history.dates()
    when = (f"From {dates[0]} to {dates[1]}." if dates
            else "The export has no dates, so they are listed in file order.")
    how: dict[str, int] = {}
    for match in history.matches:
        how[match.how] = how.get(match.how, 0) + 1
    matched = ", ".join(f"{n} by {_HOW[k]}" for k, n in how.items())
    headline = (f"For reference, the {_plural(history.count, 'closest work order')}"
                if update.status is AnswerStatus.ABSTAINED else
                f"**{_plural(history.count, 'work order', history.count_label)}**{about}{subject}")
    parts.append(f"{headline}, on "
                 f"{_plural(len(assets), 'asset')}: {spread}{more}. {when}  \n"
                 f"_Matched: {matched}._")
    dated = dates is not None
    rows = ["| # | Asset | Description | Work order |" + (" Date |" if dated else "") + " Match |",
            "|---|---|---|---|" + ("---|" if dated else "") + "---|"]
    for citation, match in zip(update.citations, history.grouped(), strict=False):
        order = match.order
        date = f" {order.date or '–'} |" if dated else ""
        rows.append(f"| {marker(citation.number, answer)} | {escape_text(order.asset or '–')} | "
                    f"{escape_text(order.description)} | {escape_text(order.record_id)} |"
                    f"{date} {match.how} |")
    parts.append("\n".join(rows))
    return "\n\n".join(parts)


def render_answer(update: AnswerUpdate, answer: int | None = None) -> str:
    """The answer as Markdown, evidence first. With ``answer`` (its place in the
    conversation), its [n] markers and sources are links that open the cited page."""
    if update.history is not None:
        return render_history(update, answer)
    parts = [render_hazards(update, answer), render_safety(update, answer)]
    note = _STATUS_NOTE.get(update.status)
    # one thing per line: "Incomplete answer. Weak evidence — … The model repeated itself…"
    # in one line read as one problem
    notice = update.notice
    if update.weak and WEAK_NOTICE in notice:
        notice = " ".join(notice.replace(WEAK_NOTICE, "").split())
        parts.append(f"⚠️ **{WEAK_NOTICE}**")
    if note:
        parts.append(f"{note} {escape_text(notice)}".strip())
    elif notice:
        parts.append(f"⚠️ **{escape_text(notice)}**")
    parts.append(render_quotes(update, answer))
    parts.append(render_draft(update, answer))
    parts.append(render_flags(update))
    show_excerpts = update.status in (AnswerStatus.ABSTAINED, AnswerStatus.MODEL_UNAVAILABLE)
    parts.append(render_sources(update.citations, with_excerpts=show_excerpts, answer=answer))
    return "\n\n".join(p for p in parts if p)
