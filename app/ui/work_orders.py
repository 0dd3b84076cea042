"""Work orders: drafted from an incident (a button of the Ask tab), reviewed, edited,
confirmed and exported here. The rules are the desk's (app.workorders.desk); this module lays
out the form and hands the signed-in user to them, for the page and the HTTP API alike.

The quotes and safety notices of a work order are the incident's evidence: shown, never
edited, and each one from a document its reader may not read is left out of what they see
(it stays in the work order).
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import gradio as gr

from app.answer.rendering import escape_text
from app.records.users import Permission, User
from app.records.work_orders import (
    NUMBER_PREFIX,
    Cited,
    WorkOrderDraft,
    WorkOrderError,
    WorkOrderFields,
)
from app.services import Services
from app.ui.access import Access
from app.ui.conversation import AnswerRecord, conversation_from_json, withdrawn
from app.workorders.desk import WorkOrderDesk
from app.workorders.drafting import AnsweredQuestion
from app.workorders.export import ExportError

TAB_ID = "work-orders"
_LABEL_NUMBER = re.compile(r"^\[\d+\]\s*")


def answered_questions(records: dict[int, AnswerRecord]) -> list[AnsweredQuestion]:
    """An incident's answers, in order, as a draft reads them: each question, the sentences
    its answer quoted and the safety notices it pinned, each with its source."""
    out = []
    for _, record in sorted(records.items()):
        def cited(number: int, text: str, record: AnswerRecord = record) -> Cited:
            label = record.labels[number - 1] if 0 < number <= len(record.labels) else ""
            file = record.chunks[number - 1].file if 0 < number <= len(record.chunks) else ""
            return Cited(text, _LABEL_NUMBER.sub("", label), file)
        out.append(AnsweredQuestion(record.question,
                                    [cited(n, t) for n, t in sorted(record.quotes.items())],
                                    [cited(n, t) for n, t in record.safety]))
    return out


def order_label(order: WorkOrderDraft) -> str:
    title = order.fields.title
    title = title if len(title) <= 60 else title[:59] + "…"
    return f"{order.number} · {order.status} · {title} · {order.author}"


def parse_number(value: Any) -> int | None:
    """A work order's id from the list's value, or from "PO-WO-00017" / "17" over the API."""
    text = str(value or "").strip().upper().removeprefix(NUMBER_PREFIX)
    return int(text) if text.isdigit() else None


def evidence_markdown(order_fields: WorkOrderFields, hidden: frozenset[str]) -> str:
    """The quotes and safety notices, verbatim with their sources, minus those of documents
    the reader may not read (counted, so they know)."""
    def lines(items: tuple[Cited, ...]) -> tuple[list[str], int]:
        shown = [f"> {escape_text(c.text)}  \n> — *{escape_text(c.source)}*"
                 for c in items if c.file not in hidden]
        return shown, len(items) - len(shown)

    quotes, quotes_withheld = lines(order_fields.documents)
    safety, safety_withheld = lines(order_fields.safety)
    parts = ["**What the documents say** (quoted from the incident's answers):", ""]
    parts += ["\n\n".join(quotes) if quotes else "*No sentence was quoted.*", ""]
    if safety:
        parts += ["⚠ **Safety notices shown in the incident** (verbatim):", "",
                  "\n\n".join(safety), ""]
    withheld = quotes_withheld + safety_withheld
    if withheld:
        parts.append(f"*{withheld} more from documents you may not read: kept in the work "
                     "order, not shown to you.*")
    return "\n".join(parts)


def header_markdown(order: WorkOrderDraft | None, reader: User, waiting: int) -> str:
    """What the form shows, or — nothing chosen — what there is to do."""
    if order is None:
        if waiting:
            return (f"**{waiting} draft{'s' if waiting != 1 else ''} wait"
                    f"{'s' if waiting == 1 else ''} for confirmation**: choose one above.")
        return ("Nothing chosen. Draft a work order from an incident with **Draft work order "
                "from this incident** on the Ask tab.")
    state = (f"**confirmed** by {order.confirmed_by}" if order.confirmed else "**draft**"
             ) + ("; exported" if order.exported_at else "")
    # the incident opens for its owner only: a link for anyone else would open nothing
    incident = (f" from [incident {order.incident}](?incident={order.incident})"
                if order.incident and order.author == reader.name else
                f" from incident {order.incident}" if order.incident else "")
    return f"### {order.number} — {state}\nDrafted by {order.author}{incident}."


class WorkOrderHandlers:
    """The tab's handlers (and the HTTP API's): plain methods, tested without a browser."""

    def __init__(self, services: Services, access: Access) -> None:
        self.services = services
        self.access = access

    @property
    def desk(self) -> WorkOrderDesk:
        return self.services.work_orders

    def choices(self, user: User, selected: int | None = None) -> Any:
        orders = self.desk.store.list(user)
        return gr.update(choices=[(order_label(o), o.id) for o in orders], value=selected)

    def form(self, user: User, order: WorkOrderDraft | None, note: str = "") -> tuple[Any, ...]:
        """Every field of the form for ``order`` (None: empty), and who may do what."""
        confirmer = self.desk.may_confirm(user)
        editable = order is not None and not order.confirmed and (
            confirmer or order.author == user.name)
        f = order.fields if order is not None else WorkOrderFields("", "")
        settings = self.services.settings.work_orders
        hidden = self.access.hidden_files(user)
        waiting = (len(self.desk.store.list(user, status="draft")) if order is None and confirmer
                   else 0)
        return (header_markdown(order, user, waiting), gr.update(visible=order is not None),
                # picked from the ids the reader's work orders carry (most used first), or
                # typed: a new machine's first work order names an id none carries yet
                gr.update(choices=self.desk.assets(hidden) if editable else [],
                          value=f.asset, interactive=editable),
                gr.update(value=f.symptom, interactive=editable),
                gr.update(value=", ".join(f.codes), interactive=editable),
                gr.update(choices=["", *settings.priorities], value=f.priority,
                          interactive=editable),
                gr.update(choices=["", *settings.work_types], value=f.work_type,
                          interactive=editable),
                gr.update(value=f.actions, interactive=editable),
                evidence_markdown(f, hidden) if order is not None else "",
                gr.update(visible=editable), gr.update(visible=editable and confirmer),
                gr.update(visible=confirmer), note,
                (order.id, order.version) if order is not None else None)

    def show(self, chosen: tuple[int, int] | None, request: gr.Request) -> tuple[Any, ...]:
        """The tab opened (or Refresh): the user's list (every draft for a confirmer), and
        the work order on the form as it is now (another user may have confirmed it)."""
        user = self.access.require(request, Permission.ASK)
        order = self.desk.store.get(user, chosen[0]) if chosen else None
        return (self.choices(user, order.id if order else None), *self.form(user, order))

    def open(self, value: Any, request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        number = parse_number(value)
        order = self.desk.store.get(user, number) if number is not None else None
        note = "" if order is not None or number is None else \
            "That work order is not among those you may see."
        return self.form(user, order, note)

    def _fields(self, user: User, chosen: tuple[int, int], asset: str, symptom: str,
                codes: str, priority: str | None, work_type: str | None,
                actions: str) -> tuple[WorkOrderDraft, WorkOrderFields]:
        stored = self.desk.store.get(user, chosen[0])
        if stored is None:
            raise WorkOrderError("That work order is not among those you may see.")
        typed = replace(stored.fields, asset=asset or "", symptom=symptom or "",
                        codes=tuple(c.strip().upper() for c in re.split(r"[,;]", codes or "")
                                    if c.strip()),
                        priority=priority or "", work_type=work_type or "",
                        actions=actions or "")
        return stored, typed

    def save(self, chosen: tuple[int, int] | None, asset: str, symptom: str, codes: str,
             priority: str | None, work_type: str | None, actions: str,
             request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        return self._change(user, chosen, asset, symptom, codes, priority, work_type, actions,
                            confirm=False)

    def confirm(self, chosen: tuple[int, int] | None, asset: str, symptom: str, codes: str,
                priority: str | None, work_type: str | None, actions: str,
                request: gr.Request, progress: gr.Progress = gr.Progress()  # noqa: B008
                ) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        progress(0.2, desc="confirming, then adding it to the work-order history")
        return self._change(user, chosen, asset, symptom, codes, priority, work_type, actions,
                            confirm=True)

    def _change(self, user: User, chosen: tuple[int, int] | None, asset: str, symptom: str,
                codes: str, priority: str | None, work_type: str | None, actions: str,
                confirm: bool) -> tuple[Any, ...]:
        if chosen is None:
            return (gr.update(), *self.form(user, None, "⚠️ Choose a work order first."))
        try:
            stored, typed = self._fields(user, chosen, asset, symptom, codes, priority,
                                         work_type, actions)
            hidden = self.access.hidden_files(user)
            saved = (self.desk.confirm(user, chosen[0], chosen[1], typed, hidden) if confirm
                     else self.desk.save(user, stored.incident, chosen[0], chosen[1], typed,
                                         hidden))
        except WorkOrderError as exc:
            # what was typed stays on the screen: only the note and the list change
            return (self.choices(user, chosen[0]), *(gr.update(),) * 12, f"⚠️ {exc}",
                    gr.update())
        done = (f"{saved.order.number} confirmed; it is in the work-order history and waits "
                "for the next export." if confirm else f"{saved.order.number} saved.")
        note = done + (f"  \n⚠️ {saved.note}" if saved.note else "")
        return (self.choices(user, saved.order.id), *self.form(user, saved.order, note))

    def export(self, chosen: tuple[int, int] | None, request: gr.Request) -> tuple[Any, ...]:
        """Every confirmed work order not yet exported, written for the CMMS; links to the
        files for this user (the files stay in the folder for the CMMS's import)."""
        user = self.access.require(request, Permission.ASK)
        order = self.desk.store.get(user, chosen[0]) if chosen else None
        try:
            exported = self.desk.export(user)
        except (WorkOrderError, ExportError) as exc:
            return (gr.update(), *(gr.update(),) * 12, f"⚠️ {exc}", gr.update())
        if exported.cited_files & self.access.hidden_files(user):
            # whole, for the CMMS; not handed to a reader barred from a document they quote
            note = (f"Exported to {self.desk.export_dir}: "
                    + ", ".join(p.name for p in exported.paths)
                    + ". They quote a document you may not read, so they are not offered "
                    "for download here: the CMMS's import reads them from that folder.")
        else:
            links = [f"[{p.name}]({self.access.grants.grant(user, Permission.ASK, p, p.name)})"
                     for p in exported.paths]
            note = (f"Exported to {self.desk.export_dir}: " + ", ".join(links)
                    + " (the links work for you for 10 minutes).")
        if order is not None:
            order = self.desk.store.get(user, order.id)
        return (self.choices(user, order.id if order else None),
                *self.form(user, order, note))

    def draft_from_incident(self, incident: Any, request: gr.Request) -> tuple[Any, ...]:
        """The Ask tab's button: a draft of the open incident, saved, and this tab opened
        on it."""
        user = self.access.require(request, Permission.ASK)
        try:
            saved = self._draft(user, incident)
        except WorkOrderError as exc:
            return (f"⚠️ {exc}", gr.update(), gr.update(), *(gr.update(),) * 14)
        note = (f"Draft {saved.order.number} saved from this incident. Add what was already "
                "done, a priority and a work type, then save; a technician confirms it.")
        if saved.note:
            note += f"  \n⚠️ {saved.note}"
        return ("", gr.Tabs(selected=TAB_ID), self.choices(user, saved.order.id),
                *self.form(user, saved.order, note))

    def _draft(self, user: User, incident: Any) -> Any:
        number = int(incident) if incident not in (None, "") else None
        stored = (self.services.incidents.load(user.name, number) if number is not None
                  else None)
        if stored is None:
            raise WorkOrderError("Ask a question first: a work order is drafted from a saved "
                                 "incident (one of yours).")
        # an answer withheld from this reader (it cited a document they may no longer read)
        # gives its question (their own words), not its quotes
        _, every = conversation_from_json(stored)
        hidden = self.access.hidden_files(user)
        _, readable = conversation_from_json(withdrawn(stored, hidden))
        records = {i: readable.get(i, AnswerRecord(r.question)) for i, r in every.items()}
        fields, _ = self.desk.propose(answered_questions(records), hidden)
        return self.desk.save(user, number, None, 0, fields, hidden)

    # The HTTP API: the same rules, plain values.

    def api_draft(self, incident: int, request: gr.Request) -> dict[str, Any]:
        """Draft a work order from one of the caller's incidents."""
        user = self.access.require(request, Permission.ASK)
        try:
            saved = self._draft(user, incident)
        except WorkOrderError as exc:
            raise gr.Error(str(exc)) from exc
        return self._plain(user, saved.order) | {"note": saved.note}

    def api_list(self, request: gr.Request) -> list[dict[str, Any]]:
        """The work orders the caller may see (their own; every one for a confirmer)."""
        user = self.access.require(request, Permission.ASK)
        return [self._plain(user, o) for o in self.desk.store.list(user)]

    def api_confirm(self, number: str, version: int, request: gr.Request) -> dict[str, Any]:
        """Confirm a draft as it is (at ``version``); refused to a role that does not."""
        user = self.access.require(request, Permission.ASK)
        found = parse_number(number)
        order = self.desk.store.get(user, found) if found is not None else None
        if order is None:
            raise gr.Error(f"Work order {number} is not among those you may see.")
        try:
            saved = self.desk.confirm(user, order.id, int(version), order.fields,
                                      self.access.hidden_files(user))
        except WorkOrderError as exc:
            raise gr.Error(str(exc)) from exc
        return self._plain(user, saved.order) | {"note": saved.note}

    def api_export(self, request: gr.Request) -> list[str]:
        """Export the confirmed work orders waiting for the CMMS; the files' names."""
        user = self.access.require(request, Permission.ASK)
        try:
            return [p.name for p in self.desk.export(user).paths]
        except (WorkOrderError, ExportError) as exc:
            raise gr.Error(str(exc)) from exc

    def _plain(self, user: User, order: WorkOrderDraft) -> dict[str, Any]:
        hidden = self.access.hidden_files(user)
        f = order.fields
        return {"number": order.number, "version": order.version, "status": order.status,
                "author": order.author, "incident": order.incident, "asset": f.asset,
                "symptom": f.symptom, "codes": list(f.codes), "actions": f.actions,
                "priority": f.priority, "work_type": f.work_type,
                "documents": [{"text": c.text, "source": c.source} for c in f.documents
                              if c.file not in hidden],
                "safety": [{"text": c.text, "source": c.source} for c in f.safety
                           if c.file not in hidden],
                "confirmed_by": order.confirmed_by}


def _layout() -> SimpleNamespace:
    with gr.Row():
        chosen_list = gr.Dropdown(label="Work orders (latest change first)", choices=[],
                                  value=None, scale=4, elem_id="wo-list")
        refresh = gr.Button("Refresh", scale=1, size="sm", elem_id="wo-refresh")
    header = gr.Markdown(elem_id="wo-header")
    with gr.Row(equal_height=False, visible=False, elem_id="wo-form") as box:
        with gr.Column(scale=3, min_width=300):
            with gr.Row():
                asset = gr.Dropdown(label="Asset", choices=[], value="", scale=1,
                                    allow_custom_value=True, filterable=True,
                                    elem_id="wo-asset", min_width=120)
                codes = gr.Textbox(label="Fault codes", scale=2, elem_id="wo-codes",
                                   min_width=160, placeholder="ALARM:1, ERROR:9")
            symptom = gr.Textbox(label="Symptom (the operator's words)", lines=2,
                                 elem_id="wo-symptom")
            actions = gr.Textbox(label="Actions already taken", lines=3, elem_id="wo-actions",
                                 placeholder="Reset the alarm, checked the limit switch wiring…")
            with gr.Row():
                priority = gr.Dropdown(label="Priority", choices=[], elem_id="wo-priority",
                                       min_width=140)
                work_type = gr.Dropdown(label="Work type", choices=[], elem_id="wo-type",
                                        min_width=140)
            with gr.Row():
                save = gr.Button("Save draft", elem_id="wo-save", visible=False)
                confirm = gr.Button("Confirm work order", variant="primary",
                                    elem_id="wo-confirm", visible=False)
        with gr.Column(scale=2, min_width=300):
            evidence = gr.Markdown(elem_id="wo-evidence")
    note = gr.Markdown(elem_id="wo-note")
    export = gr.Button("Export confirmed work orders for the CMMS", elem_id="wo-export",
                       visible=False, size="sm")
    chosen = gr.State(None)  # (id, version) of the work order on the form
    return SimpleNamespace(chosen_list=chosen_list, refresh=refresh, header=header, box=box,
                           asset=asset, codes=codes, symptom=symptom, actions=actions,
                           priority=priority, work_type=work_type, save=save,
                           confirm=confirm, export=export, note=note, evidence=evidence,
                           chosen=chosen)


def build_work_orders_tab(services: Services, access: Access
                          ) -> tuple[WorkOrderHandlers, list[Any], list[Any]]:
    """The tab's layout and wiring; returns the handlers, the list and the form's outputs
    (the Ask tab's Draft button fills them), and what the tab's opening reads."""
    on = WorkOrderHandlers(services, access)
    ui = _layout()
    gr.api(on.api_draft, api_name="draft_work_order")
    gr.api(on.api_list, api_name="work_orders")
    gr.api(on.api_confirm, api_name="confirm_work_order")
    gr.api(on.api_export, api_name="export_work_orders")
    form = [ui.header, ui.box, ui.asset, ui.symptom, ui.codes, ui.priority, ui.work_type,
            ui.actions, ui.evidence, ui.save, ui.confirm, ui.export, ui.note, ui.chosen]
    typed = [ui.chosen, ui.asset, ui.symptom, ui.codes, ui.priority, ui.work_type, ui.actions]
    ui.refresh.click(on.show, inputs=[ui.chosen], outputs=[ui.chosen_list, *form],
                     api_name=False)
    ui.chosen_list.input(on.open, inputs=[ui.chosen_list], outputs=form, api_name=False)
    ui.save.click(on.save, inputs=typed, outputs=[ui.chosen_list, *form], api_name=False)
    ui.confirm.click(on.confirm, inputs=typed, outputs=[ui.chosen_list, *form],
                     api_name=False)
    ui.export.click(on.export, inputs=[ui.chosen], outputs=[ui.chosen_list, *form],
                    api_name=False)
    return on, [ui.chosen_list, *form], [ui.chosen]
