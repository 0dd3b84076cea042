"""Answers and passages as Markdown for the UI; document text is shown as text."""

from __future__ import annotations

import html

from app.answering import AnswerStatus, AnswerUpdate, Citation

_STATUS_NOTE = {
    AnswerStatus.INCOMPLETE: "⚠️ **Incomplete answer.**",
    AnswerStatus.MODEL_UNAVAILABLE: "⚠️ **Model server unreachable: retrieval-only results.**",
    AnswerStatus.ABSTAINED: "ℹ️ **Not found in the documents.**",
}


def escape_text(text: str) -> str:
    """Neutralise HTML and Markdown control characters in untrusted text."""
    escaped = html.escape(text, quote=False)
    for char in "\\`*_{}[]<>#|!":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_sources(citations: list[Citation], with_excerpts: bool) -> str:
    if not citations:
        return ""
    lines = ["", "**Sources**", ""]
    for c in citations:
        lines.append(f"{c.number}. {escape_text(c.label)}")
        if with_excerpts:
            excerpt = " ".join(c.chunk.text.split())[:300]
            lines.append(f"    > {escape_text(excerpt)}")
    return "\n".join(lines)


def render_safety(update: AnswerUpdate) -> str:
    if not update.safety:
        return ""
    lines = ["⚠️ **Safety notices in the cited documents** (verbatim):", ""]
    lines += [f"> {escape_text(n.text)} \\[{n.citation_number}\\]" for n in update.safety]
    return "\n".join(lines)


def render_quotes(update: AnswerUpdate) -> str:
    """The sentences of the cited pages that answer the question, verbatim, above what the
    model writes: with a weak model they are the useful part of the answer."""
    if not update.quotes:
        return ""
    labels = {c.number: c.label for c in update.citations}
    lines = ["**From the documents** (quoted word for word):"]
    for q in update.quotes:
        lines += ["", f"> {escape_text(q.text)}  \n> — {escape_text(labels.get(q.number, ''))}"
                      f" \\[{q.number}\\]"]
    return "\n".join(lines)


def render_flags(update: AnswerUpdate) -> str:
    """What the cited pages do not back, under the model's answer."""
    lines = []
    if any(f.kind == "citation" for f in update.flags):
        lines.append("⚠️ **The model's answer cites no passage:** check it against the "
                     "quoted sentences and the sources.")
    claims = [f for f in update.flags if f.kind != "citation"]
    if claims:
        items = "; ".join(escape_text(str(f)) for f in claims)
        lines.append(f"⚠️ **Not in the cited pages:** {items}. Check these against the "
                     "sources before acting on them.")
    return "  \n".join(lines)


def render_answer(update: AnswerUpdate) -> str:
    parts = [render_safety(update)]
    note = _STATUS_NOTE.get(update.status)
    if note:
        parts.append(f"{note} {escape_text(update.notice)}".strip())
    elif update.weak:
        parts.append(f"⚠️ **{escape_text(update.notice)}**")
    parts.append(render_quotes(update))
    generated = "**Model's answer** (generated from the passages; check it against the quotes):"
    if update.status is AnswerStatus.STREAMING:
        # the cursor says "still writing": sources show early, the answer is not done
        parts.append(f"{generated}\n\n" + (escape_text(update.text) + " ▌" if update.text
                                            else "_Writing the answer…_ ▌"))
    elif update.text and update.status is not AnswerStatus.ABSTAINED:
        parts.append(f"{generated}\n\n{escape_text(update.text)}")
    parts.append(render_flags(update))
    show_excerpts = update.status in (AnswerStatus.ABSTAINED, AnswerStatus.MODEL_UNAVAILABLE)
    parts.append(render_sources(update.citations, with_excerpts=show_excerpts))
    return "\n\n".join(p for p in parts if p)
