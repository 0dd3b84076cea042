"""Technicians: retrieval only, no model; filter, open the page, download the original."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from app.answer.evidence import Verdict
from app.records.audit import AuditEntry
from app.records.users import Permission
from app.services import Services
from app.ui.access import Access
from app.ui.conversation import NO_LONGER_READABLE
from app.ui.page_scripts import SHOW_SEARCH_PAGE
from app.ui.sources import source_view
from ingest.contract import Chunk, DocType
from ingest.search import SearchFilters

RESULT_COLUMNS = ["#", "file", "page / record", "section", "date", "matching sentence"]
_WIDTHS = {"#": 5, "file": 24, "page / record": 10, "section": 14, "date": 9,
           "matching sentence": 38}
_ALL = "all"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VERDICT_NOTE = {
    Verdict.ANSWER: "{n} passages, best first.",
    Verdict.WEAK: "{n} passages, best first. ⚠️ **Weak matches:** none holds your words "
                  "closely; check each before you rely on it.",
    Verdict.NOT_FOUND: "⚠️ **No good match.** Nothing in the documents matches these words "
                       "well{missing}; the {n} closest passages are listed anyway.",
}


class FilterError(ValueError):
    """A filter the form cannot use; its message says what to type instead."""


def parse_filters(doc_type: str, file: str, tag: str, date_from: str,
                  date_to: str) -> SearchFilters:
    """The filter form as SearchFilters; a malformed date is refused with what to type."""
    days = {}
    for label, value in (("from", date_from), ("to", date_to)):
        if value and not _ISO_DATE.match(value.strip()):
            raise FilterError(f"Date {label} '{value}' is not a date: write it as YYYY-MM-DD.")
        if value:
            try:  # 2026-02-30 has the form but is no day: it would silently find nothing
                days[label] = datetime.date.fromisoformat(value.strip())
            except ValueError:
                raise FilterError(f"Date {label} '{value}' is not a day of the calendar: "
                                  "check the month and day.") from None
    if len(days) == 2 and days["from"] > days["to"]:
        raise FilterError(f"Date from ({days['from']}) is after date to ({days['to']}): "
                          "swap them.")
    return SearchFilters(
        doc_type=DocType(doc_type) if doc_type and doc_type != _ALL else None,
        file=file if file and file != _ALL else None,
        tag=tag.strip() or None,
        date_from=date_from.strip() or None,
        date_to=date_to.strip() or None)


def result_table(chunks: list[Chunk], sentences: list[str]) -> dict[str, Any]:
    """Rows of the results, with the section and date columns only when some hit has one
    (manuals have no dates, work orders no sections)."""
    rows = [[i + 1, c.file, f"p. {c.page}" if c.page is not None else (c.record_id or ""),
             c.section or "", c.date or "", sentence]
            for i, (c, sentence) in enumerate(zip(chunks, sentences, strict=True))]
    keep = [i for i, name in enumerate(RESULT_COLUMNS)
            if name not in ("section", "date") or any(row[i] for row in rows)]
    return {"headers": [RESULT_COLUMNS[i] for i in keep],
            "data": [[row[i] for i in keep] for row in rows]}


def result_cards(table: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows as one line each, for a phone (below 640 px the grid is hidden and these
    are shown: a six-column grid squeezed each column to a few letters a line). Values are
    row numbers from 0."""
    cards = []
    for n, row in enumerate(table["data"]):
        cells = dict(zip(table["headers"], row, strict=True))
        where = " · ".join(str(cells[h]) for h in ("page / record", "section", "date")
                           if cells.get(h))
        cards.append((f"[{cells['#']}] {cells['file']} · {where} — {cells['matching sentence']}",
                      str(n)))
    return cards


def search_note(verdict: Verdict, count: int, missing: tuple[str, ...] = ()) -> str:
    if not count:
        return "Nothing found with these words and filters."
    named = f" (the documents never name {', '.join(m.upper() for m in missing)})" \
        if missing else ""
    return _VERDICT_NOTE[verdict].format(n=count, missing=named)


class SearchHandlers:
    """The Search tab's handlers: plain methods of their inputs, the services and the access
    check (tested without a browser); ``build_search_tab`` lays out and wires."""

    def __init__(self, services: Services, access: Access) -> None:
        self.services = services
        self.access = access

    def search(self, text: str, kind: str, name: str, code: str, start: str, end: str,
               request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.SEARCH)
        unchanged = tuple(gr.update() for _ in range(6))
        try:
            filters = parse_filters(kind, name, code, start, end)
        except FilterError as exc:  # said next to the form; nothing else changes
            return (f"⚠️ {exc}", *unchanged)
        if not (text or "").strip():
            return ("⚠️ Type what to search for.", *unchanged)
        retriever = self.services.retriever.for_reader(self.access.hidden_files(user))
        hits = retriever.retrieve(text, k=20, filters=filters)
        chunks = [h.chunk for h in hits]
        evidence = retriever.evidence(text, hits[:5])
        self.services.audit.record(AuditEntry(user=user.name, role=user.role, action="search",
                                         question=text, status=str(evidence.verdict),
                                         retrieved=[f"{c.file}#{c.page or c.record_id or ''}"
                                                    for c in chunks]))
        table = result_table(chunks, [retriever.matching_sentence(text, c) for c in chunks])
        total = sum(_WIDTHS[h] for h in table["headers"])  # the shown columns fill the table
        widths = [f"{_WIDTHS[h] * 100 / total:.0f}%" for h in table["headers"]]
        return (search_note(evidence.verdict, len(chunks), evidence.missing),
                gr.update(value=table, headers=table["headers"], column_widths=widths),
                gr.update(choices=result_cards(table), value=None),
                chunks, None, "", gr.update(visible=False))

    def select(self, chunks: list[Chunk], event: gr.SelectData,
               request: gr.Request) -> tuple[Any, ...]:
        """A row of the grid chosen: its page, its passage and the original's download."""
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        return self.open_row(chunks, row, request)

    def select_card(self, chunks: list[Chunk], card: str | None,
                    request: gr.Request) -> tuple[Any, ...]:
        """The same for a card (a phone)."""
        row = int(card) if card is not None and str(card).isdigit() else -1
        return self.open_row(chunks, row, request)

    def open_row(self, chunks: list[Chunk], row: int, request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.SEARCH)
        if not 0 <= row < len(chunks):
            return None, "", gr.update(visible=False)
        chunk = chunks[row]
        if chunk.file in self.access.hidden_files(user):  # withdrawn since the search
            return None, NO_LONGER_READABLE, gr.update(visible=False)
        image, text = source_view(self.services.previews, chunk)
        if not self.services.originals.has(chunk.file_sha256):
            return image, text, gr.update(visible=False)
        link = self.access.grants.grant(user, Permission.SEARCH,
                                   self.services.originals.path(chunk.file_sha256),
                                   Path(chunk.file).name)
        return image, text, gr.update(link=link, visible=True)


def _search_layout() -> SimpleNamespace:
    """The query and its filters, the results, and the opened page beside them."""
    with gr.Row():
        query = gr.Textbox(placeholder="Words, a fault code (ALARM:2) or an equipment tag "
                           "(P-101A)…", show_label=False, scale=6, elem_id="search-query")
        run = gr.Button("Search", variant="primary", scale=1, elem_id="search-run")
    with gr.Row():
        doc_type = gr.Dropdown([_ALL, *(t.value for t in DocType)], value=_ALL,
                               label="Document type", elem_id="search-type")
        file = gr.Dropdown([_ALL], value=_ALL, label="File", elem_id="search-file",
                           allow_custom_value=True)  # choices are filled per page load
        tag = gr.Textbox(label="Equipment tag / fault code", elem_id="search-tag")
        date_from = gr.Textbox(label="Work orders from (YYYY-MM-DD)", elem_id="search-from")
        date_to = gr.Textbox(label="to (YYYY-MM-DD)", elem_id="search-to")
    summary = gr.Markdown(elem_id="search-summary")  # also what is wrong with the form
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            results = gr.Dataframe(headers=RESULT_COLUMNS, datatype="str", interactive=False,
                                   wrap=True, elem_id="search-results",
                                   label="Results (select a row to open its page)",
                                   column_widths=[f"{w}%" for w in _WIDTHS.values()],
                                   elem_classes=["desk-only"])
            cards = gr.Radio(choices=[], label="Results (tap one to open its page)",
                             elem_id="search-cards", elem_classes=["phone-only"])
        with gr.Column(scale=2, min_width=320):
            preview = gr.Image(label="Page", type="filepath", interactive=False,
                               elem_id="search-preview", buttons=["download", "fullscreen"])
            passage = gr.Markdown(elem_id="search-passage")
            download = gr.Button("Download the original", visible=False,
                                 elem_id="search-download")  # a link granted per user
    found = gr.State([])
    return SimpleNamespace(
        query=query, run=run, doc_type=doc_type, file=file, tag=tag, date_from=date_from,
        date_to=date_to, summary=summary, results=results, cards=cards, preview=preview,
        passage=passage, download=download, found=found)


def build_search_tab(services: Services, access: Access) -> gr.Dropdown:
    """Returns the file filter, whose choices the page refreshes each time the tab opens."""
    on = SearchHandlers(services, access)
    ui = _search_layout()
    inputs = [ui.query, ui.doc_type, ui.file, ui.tag, ui.date_from, ui.date_to]
    outputs = [ui.summary, ui.results, ui.cards, ui.found, ui.preview, ui.passage, ui.download]
    ui.run.click(on.search, inputs=inputs, outputs=outputs, api_name="search")
    ui.query.submit(on.search, inputs=inputs, outputs=outputs, api_name=False)
    opened = [ui.preview, ui.passage, ui.download]
    ui.results.select(on.select, inputs=[ui.found], outputs=opened, api_name=False)
    # on a phone the page opens below all the cards: brought into view once it is there
    ui.cards.input(on.select_card, inputs=[ui.found, ui.cards], outputs=opened,
                   api_name=False).then(None, js=SHOW_SEARCH_PAGE)
    return ui.file
