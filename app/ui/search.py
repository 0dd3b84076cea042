"""Technicians: retrieval only, no model; filter, open the page, download the original."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr

from app.audit import AuditEntry
from app.services import Services
from app.ui.access import Access
from app.ui.sources import source_view
from app.users import Permission
from ingest.contract import Chunk, DocType
from ingest.search import SearchFilters

RESULT_COLUMNS = ["#", "file", "page / record", "section", "date", "passage"]
_ALL = "all"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_filters(doc_type: str, file: str, tag: str, date_from: str,
                  date_to: str) -> SearchFilters:
    """The filter form as SearchFilters; a malformed date is refused with what to type."""
    for label, value in (("from", date_from), ("to", date_to)):
        if value and not _ISO_DATE.match(value.strip()):
            raise gr.Error(f"Date {label} '{value}' is not a date: write it as YYYY-MM-DD.")
    return SearchFilters(
        doc_type=DocType(doc_type) if doc_type and doc_type != _ALL else None,
        file=file if file and file != _ALL else None,
        tag=tag.strip() or None,
        date_from=date_from.strip() or None,
        date_to=date_to.strip() or None)


def result_rows(chunks: list[Chunk]) -> list[list[Any]]:
    return [[i + 1, c.file, f"p. {c.page}" if c.page is not None else (c.record_id or ""),
             c.section or "", c.date or "", " ".join(c.text.split())[:300]]
            for i, c in enumerate(chunks)]


def build_search_tab(services: Services, access: Access) -> gr.Dropdown:
    """Returns the file filter, whose choices the page refreshes on load."""
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
    summary = gr.Markdown(elem_id="search-summary")
    results = gr.Dataframe(headers=RESULT_COLUMNS, datatype="str", interactive=False,
                           wrap=True, elem_id="search-results", label="Results (select a row)",
                           column_widths=["5%", "24%", "10%", "14%", "9%", "38%"])
    with gr.Row():
        with gr.Column(scale=3):
            preview = gr.Image(label="Page", type="filepath", interactive=False,
                               elem_id="search-preview", buttons=["download", "fullscreen"])
        with gr.Column(scale=2):
            passage = gr.Markdown(elem_id="search-passage")
            download = gr.Button("Download the original", visible=False,
                                 elem_id="search-download")  # a link granted per user
    found = gr.State([])

    def search(text: str, kind: str, name: str, code: str, start: str, end: str,
               request: gr.Request) -> tuple[Any, ...]:
        user = access.require(request, Permission.SEARCH)
        filters = parse_filters(kind, name, code, start, end)
        if not (text or "").strip():
            raise gr.Error("Type what to search for.")
        hits = services.retriever.retrieve(text, k=20, filters=filters)
        chunks = [h.chunk for h in hits]
        services.audit.record(AuditEntry(user=user.name, role=user.role, action="search",
                                         question=text, retrieved=[
                                             f"{c.file}#{c.page or c.record_id or ''}"
                                             for c in chunks]))
        note = (f"{len(chunks)} passages, best first." if chunks
                else "Nothing found with these words and filters.")
        return note, result_rows(chunks), chunks, None, "", gr.update(visible=False)

    def select(chunks: list[Chunk], event: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        user = access.require(request, Permission.SEARCH)
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        if not 0 <= row < len(chunks):
            return None, "", gr.update(visible=False)
        chunk = chunks[row]
        image, text = source_view(services.previews, chunk)
        if not services.originals.has(chunk.file_sha256):
            return image, text, gr.update(visible=False)
        link = access.grants.grant(user, Permission.SEARCH,
                                   services.originals.path(chunk.file_sha256),
                                   Path(chunk.file).name)
        return image, text, gr.update(link=link, visible=True)

    inputs = [query, doc_type, file, tag, date_from, date_to]
    outputs = [summary, results, found, preview, passage, download]
    run.click(search, inputs=inputs, outputs=outputs, api_name="search")
    query.submit(search, inputs=inputs, outputs=outputs, api_name=False)
    results.select(select, inputs=[found], outputs=[preview, passage, download],
                   api_name=False)
    return file
