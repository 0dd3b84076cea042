"""Technicians: an asset's whole work-order history, or a failure's spread across assets, with
a chart; a row opens the work order."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from app.answer.history.matches import History
from app.answer.rendering import escape_text
from app.records.audit import AuditEntry
from app.records.users import Permission
from app.services import Services
from app.ui.access import Access
from app.ui.conversation import NO_LONGER_READABLE
from app.ui.page_scripts import SHOW_HISTORY_ORDER
from app.ui.sources import source_view
from ingest.contract import Chunk

HISTORY_COLUMNS = ["asset", "work order", "date", "description", "action", "component",
                   "matched by"]
PER_ASSET = "per asset"
PER_MONTH = "per month"
_CHART_ASSETS = 25  # bars; the table lists every work order


def chart_frame(history: History | None, by: str = PER_ASSET) -> pd.DataFrame:
    """Work orders per asset (most first, the first 25) or per month (dated ones only)."""
    counts = ((history.per_month() if by == PER_MONTH else history.per_asset()[:_CHART_ASSETS])
              if history else [])
    key = "month" if by == PER_MONTH else "asset"
    return pd.DataFrame({key: [k for k, _ in counts], "work orders": [n for _, n in counts]})


def chart_update(history: History | None, by: str = PER_ASSET) -> dict[str, Any]:
    """The bar chart of a history, hidden when it would hold fewer than two bars: one asset's
    (or one month's) single full-width bar compares nothing, and the count is in the text."""
    frame = chart_frame(history, by)
    x = frame.columns[0]
    top = int(frame["work orders"].max()) if not frame.empty else 1
    return gr.update(value=frame, x=x, y="work orders", visible=len(frame) >= 2,
                     sort=None if x == "month" else "-y", y_lim=[0, top],
                     x_title=x, x_label_angle=-45 if len(frame) > 6 else 0)


def history_rows(history: History) -> list[list[str]]:
    return [[m.order.asset or "–", m.order.record_id, m.order.date or "–", m.order.description,
             m.order.action or "–", m.order.component or "–", m.how]
            for m in history.grouped()]


_CARDS = 100  # a phone's list of work orders: the first 100, the count says how many more


def history_cards(rows: list[list[str]]) -> list[tuple[str, str]]:
    """The rows as one line each, for a phone (below 640 px the grid is hidden: seven columns
    squeezed to a few letters a line). Values are row numbers from 0."""
    cards = []
    for n, (asset, order, date, description, action, component, how) in enumerate(
            rows[:_CARDS]):
        where = " · ".join(v for v in (order, asset, date) if v != "–")
        done = f" → {action}" if action != "–" else ""
        part = f" ({component})" if component != "–" else ""
        cards.append((f"{where} — {description}{part}{done} [{how}]", str(n)))
    if len(rows) > _CARDS:
        cards.append((f"… {len(rows) - _CARDS} more: narrow with words or a component "
                      "(a wider screen lists them all)", "more"))
    return cards


def history_summary(history: History) -> str:
    asked = history.question
    if asked.unknown and not history.matches:
        hints = [f"{escape_text(u.upper())} (did you mean {history.suggestions[u]}?)"
                 if u in history.suggestions else escape_text(u.upper()) for u in asked.unknown]
        return f"No work order names {', '.join(hints)}."
    notes = " ".join(escape_text(n) for n in history.notes)
    if not history.matches:
        return f"No work order matches “{escape_text(asked.text)}”. {notes}".strip()
    assets = history.per_asset()
    dates = history.dates()
    when = f"from {dates[0]} to {dates[1]}" if dates else "no dates in the export"
    parts = [f"**{history.count_label} work order(s)** on {len(assets)} asset(s) ({when}).",
             *(f"⚠️ {escape_text(c)}" for c in history.cautions()), notes,
             "Select a row to open the work order."]
    return " ".join(p for p in parts if p)


def build_history_view(services: Services, access: Access) -> None:
    with gr.Row():
        asset = gr.Textbox(label="Asset id", placeholder="PH639", scale=1,
                           elem_id="history-asset")
        words = gr.Textbox(label="Failure or words", scale=3, elem_id="history-words",
                           placeholder="park brake door alarm (without an asset: on every "
                           "asset)")
        component = gr.Textbox(label="Component (with an asset)", scale=2,
                               elem_id="history-component")
        show = gr.Button("Show history", variant="primary", scale=1, elem_id="history-run")
    summary = gr.Markdown(elem_id="history-summary")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            by = gr.Radio([PER_ASSET, PER_MONTH], value=PER_ASSET, label="Chart",
                          elem_id="history-by")
            chart = gr.BarPlot(chart_frame(None), x="asset", y="work orders", visible=False,
                               label="Work orders", elem_id="history-chart", height=260)
            table = gr.Dataframe(headers=HISTORY_COLUMNS, datatype="str", interactive=False,
                                 wrap=True, elem_id="history-table",
                                 label="Work orders (select a row to open it)",
                                 elem_classes=["desk-only"])
            cards = gr.Radio(choices=[], label="Work orders (tap one to open it)",
                             elem_id="history-cards", elem_classes=["phone-only"])
        with gr.Column(scale=2, min_width=320):
            passage = gr.Markdown(elem_id="history-passage")
    shown = gr.State(None)

    def history(asset_id: str, text: str, part: str, chart_by: str,
                request: gr.Request) -> tuple[Any, ...]:
        """An asset's work orders (narrowed by words / component), or — without an asset —
        the work orders matching the words on every asset."""
        user = access.require(request, Permission.SEARCH)
        asset_id, text = (asset_id or "").strip(), (text or "").strip()
        if not asset_id and not text:
            return ("⚠️ Type an asset id, or the failure to look for on every asset.",
                    gr.update(), gr.update(), gr.update(), gr.update(), "")
        finder = services.history.for_reader(access.hidden_files(user))
        found = (finder.asset_history(asset_id, text, part or "") if asset_id
                 else finder.matching(text))
        services.audit.record(AuditEntry(
            user=user.name, role=user.role, action="history",
            question=" ".join(p for p in (asset_id, text, part) if p),
            status="found" if found.matches else "not_found",
            retrieved=[f"{m.order.file}#{m.order.record_id}" for m in found.grouped()]))
        rows = history_rows(found)
        return (history_summary(found), chart_update(found, chart_by),
                {"headers": HISTORY_COLUMNS, "data": rows},
                gr.update(choices=history_cards(rows), value=None), found, "")

    def rechart(found: History | None, chart_by: str) -> Any:
        return chart_update(found, chart_by)

    def open_row(found: History | None, event: gr.SelectData,
                 request: gr.Request) -> str:
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        return open_order(found, row, request)

    def open_card(found: History | None, card: str | None, request: gr.Request) -> str:
        row = int(card) if card is not None and str(card).isdigit() else -1
        return open_order(found, row, request)

    def open_order(found: History | None, row: int, request: gr.Request) -> str:
        user = access.require(request, Permission.SEARCH)
        matches = found.grouped() if found else []
        if not 0 <= row < len(matches):
            return ""
        chunk: Chunk = matches[row].order.chunk()
        if chunk.file in access.hidden_files(user):  # withdrawn since the list was shown
            return NO_LONGER_READABLE
        return source_view(services.previews, chunk)[1]

    inputs = [asset, words, component, by]
    outputs = [summary, chart, table, cards, shown, passage]
    show.click(history, inputs=inputs, outputs=outputs, api_name="history")
    for box in (asset, words, component):
        box.submit(history, inputs=inputs, outputs=outputs, api_name=False)
    by.input(rechart, inputs=[shown, by], outputs=[chart], api_name=False)
    table.select(open_row, inputs=[shown], outputs=[passage], api_name=False)
    cards.input(open_card, inputs=[shown, cards], outputs=[passage],
                api_name=False).then(None, js=SHOW_HISTORY_ORDER)
