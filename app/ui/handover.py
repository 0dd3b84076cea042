"""The shift handover as a page: a time window, the report (app.records.handover), printable
on one sheet where it fits, and its Markdown to download. Technicians and admins see it (it
lists every user's questions), as `plantops handover` gives admins on the server."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

import gradio as gr

from app.records.handover import HandoverError, handover, parse_time
from app.records.users import Permission
from app.services import Services
from app.ui.access import Access

SHIFT_HOURS = 8
PRINT = "() => { window.print(); }"


def default_window(now: float | None = None) -> tuple[str, str]:
    """The last shift (8 hours to now), as the boxes show it (UTC)."""
    end = now if now is not None else time.time()
    return (time.strftime("%Y-%m-%d %H:%M", time.gmtime(end - SHIFT_HOURS * 3600)),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(end + 60)))


class HandoverHandlers:
    def __init__(self, services: Services, access: Access) -> None:
        self.services = services
        self.access = access
        self.exports = services.settings.data_dir / "exports"

    def show(self, start: str, end: str, assets: str, request: gr.Request) -> tuple[str, str]:
        """The report of [start, end) (UTC), limited to ``assets`` when some are given
        (comma-separated), and what is said beside the button."""
        user = self.access.require(request, Permission.SEARCH)
        hidden = self.access.hidden_files(user)
        try:
            since, before = parse_time(start or default_window()[0]), \
                parse_time(end or default_window()[1])
            shift = handover(self.services.audit, since, before,
                             # counted from the work orders this reader may read
                             self.services.records.snapshot().assets_outside(hidden),
                             self.services.work_order_store, self.services.incidents,
                             [a for a in re.split(r"[,;\s]+", assets or "") if a])
        except HandoverError as exc:
            return gr.update(), f"⚠️ {exc}"  # type: ignore[return-value]
        # the pages of documents this reader may not read are left out, and said
        return shift.readable_by(hidden).to_markdown(), ""

    def download(self, start: str, end: str, assets: str, request: gr.Request) -> str:
        """A one-use link to the report of the window, as Markdown: made again here (what the
        page sends is a window, never the text written to the server's disk)."""
        user = self.access.require(request, Permission.SEARCH)
        report, said = self.show(start, end, assets, request)
        if said:
            return said
        self.exports.mkdir(parents=True, exist_ok=True)
        target = self.exports / f"{secrets.token_hex(16)}.md"
        target.write_text(report, encoding="utf-8")
        name = f"handover-{time.strftime('%Y%m%d-%H%M', time.gmtime())}.md"
        link = self.access.grants.grant(user, Permission.SEARCH, Path(target), name,
                                        one_time=True)
        return f"[Download {name}]({link}) (the link works once, for you)"


def build_handover_tab(services: Services, access: Access) -> Any:
    """The tab's layout and wiring; returns what its opening runs (the last shift shown)."""
    on = HandoverHandlers(services, access)
    start, end = default_window()
    with gr.Row(elem_id="handover-controls"):
        # wide enough for "2026-12-04 06:00" on one line: on a phone they stack
        since = gr.Textbox(label="From (UTC)", value=start, elem_id="handover-from",
                           min_width=180)
        until = gr.Textbox(label="To (UTC)", value=end, elem_id="handover-to", min_width=180)
        area = gr.Textbox(label="Assets (optional)", placeholder="PH639, QR0218",
                          elem_id="handover-assets", min_width=150)
        show = gr.Button("Show handover", variant="primary", elem_id="handover-show",
                         min_width=120)
    with gr.Row(elem_id="handover-actions"):
        print_it = gr.Button("Print", size="sm", elem_id="handover-print")
        download = gr.Button("Download Markdown", size="sm", elem_id="handover-download")
    note = gr.Markdown(elem_id="handover-note")
    report = gr.Markdown(elem_id="handover-report")
    show.click(on.show, inputs=[since, until, area], outputs=[report, note], api_name=False)
    print_it.click(None, js=PRINT)
    download.click(on.download, inputs=[since, until, area], outputs=[note], api_name=False)

    def opened(request: gr.Request) -> tuple[Any, ...]:
        first, last = default_window()
        shown, said = on.show(first, last, "", request)
        return first, last, shown, said

    return opened, [since, until, report, note]
