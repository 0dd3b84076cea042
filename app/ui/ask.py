"""Operators: ask, watch the answer stream in, stop it, open the cited pages, give feedback.

The flow of one question: ``accept`` (instant, unqueued) takes the typed text, clears the box
and shows the question, or keeps the text and says why when an answer is still streaming;
``stream`` writes the answer without touching the box, so what the operator types meanwhile
stays; ``settle`` or Stop end it. Every answer keeps its own sources, quotes and audit row, so
a click on [2] of an earlier answer opens that answer's source 2, and a thumb lands on the
answer it was given on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import gradio as gr

from app.answer.answering import AnswerStatus, AnswerUpdate
from app.answer.rendering import parse_citation_anchor, render_answer
from app.records.incidents import title_from
from app.records.users import Permission, User
from app.services import Services
from app.ui.access import Access
from app.ui.conversation import (
    NO_LONGER_READABLE,
    AnswerRecord,
    Message,
    audit_entry,
    conversation_from_json,
    conversation_to_json,
    record_of,
    stopped_history,
    with_withheld,
    withdrawn,
)
from app.ui.history import chart_frame, chart_update
from app.ui.page_scripts import REMEMBER_INCIDENT, SCROLL_TO_QUESTION
from app.ui.sources import source_view

_FINAL = {AnswerStatus.COMPLETE, AnswerStatus.ABSTAINED, AnswerStatus.INCOMPLETE,
          AnswerStatus.MODEL_UNAVAILABLE}
BUSY_NOTE = ("Still answering the last question: your text is kept. Press **Stop** to ask it "
             "now, or **Ask** again when the answer is done.")

def incident_number(value: float | int | None) -> int | None:
    """The incident id the page holds (a number field: it may arrive as 12.0)."""
    return int(value) if value is not None else None


def example_questions(codes: list[str], limit: int = 3) -> list[dict[str, str]]:
    """Example questions for the empty screen, about fault codes the documents explain
    (most documented first, one per kind of code: 'alarm:5', 'error:9')."""
    kinds: dict[str, str] = {}
    for code in codes:
        kinds.setdefault(code.split(":", 1)[0], code)
    return [{"text": f"What does {code.upper()} mean and what should I check?"}
            for code in list(kinds.values())[:limit]]


# What each way of changing the conversation fills, in this order (the handlers return
# their values in it; the layout maps the names to its components).
CONVERSATION = ("chat", "records", "incident", "title", "incident_list", "showing", "rated",
                "cited", "preview", "passage", "feedback_note", "ask_note", "incident_note",
                "confirm", "chart")
# What the streaming answer fills, in this order.
STREAMED = ("chat", "cited", "records", "showing", "live", "incident", "incident_list", "title",
            "busy", "pending", "ask_note", "send", "stop", "chart", "preview", "passage")


class AskHandlers:
    """The Ask tab's handlers: plain methods of their inputs, the services and the access
    check, so they are tested without a browser; ``build_ask_tab`` only lays out and wires."""

    def __init__(self, services: Services, access: Access) -> None:
        self.services = services
        self.access = access
        # Sessions whose streaming answer was stopped: the stream sends nothing more once its
        # session is here. Cancelling it alone left a window in which an update it had already
        # made arrived after Stop's and put the cursor back on the stopped answer.
        self.stopping: set[str] = set()

    def incident_choices(self, user: User, selected: int | None = None) -> Any:
        return gr.update(choices=[(i.label, i.id) for i in self.services.incidents.list(user.name)],
                         value=selected)

    def keep(self, user: User, current: int | None, history: list[Message],
             kept: dict[int, AnswerRecord]) -> int:
        """Save the conversation in the user's incidents (named by its first question)."""
        first = next((r.question for _, r in sorted(kept.items())), "Incident")
        number = incident_number(current)
        conversation = conversation_to_json(history, kept)
        if number is not None:  # answers withheld from this reader since are kept as stored
            conversation = with_withheld(
                conversation, lambda: self.services.incidents.load(user.name, number))
        return self.services.incidents.save(user.name, number, first, conversation)

    def title_of(self, user: User, number: int) -> str:
        """The name the incident was saved under ("P-101 trips (2)" for the second of one
        first question)."""
        return next((i.title for i in self.services.incidents.list(user.name) if i.id == number),
                    "")

    def accept(self, text: str, history: list[Message], running: bool, request: gr.Request
               ) -> tuple[Any, ...]:
        self.access.require(request, Permission.ASK)
        text = (text or "").strip()
        if running:  # keep what was typed; say why nothing happened; the answer goes on
            return gr.update(), history, gr.update(), running, BUSY_NOTE, gr.update(), \
                gr.update()
        if not text:
            return gr.update(), history, "", False, "Type a question first.", gr.update(), \
                gr.update()
        shown = [*history, {"role": "user", "content": text},
                 {"role": "assistant", "content": "Searching the documents…"}]
        return "", shown, text, True, "", gr.update(visible=False), gr.update(visible=True)

    def stream(self, text: str, history: list[Message], kept: dict[int, AnswerRecord],
               current: int | None, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        user = self.access.require(request, Permission.ASK)
        if not text:  # refused (an answer was streaming) or taken: this run changes nothing
            # (one explicit no-change: a generator that yields nothing empties its outputs,
            # which wiped the Ask button's label)
            yield tuple(gr.update() for _ in STREAMED)
            return
        session = request.session_hash or ""
        self.stopping.discard(session)  # a Stop pressed before this question is not for it
        # take the question at once, so that a question refused meanwhile finds none; Stop
        # reads it from `live`
        yield (*(gr.update(),) * 4, (text, None), *(gr.update(),) * 4, "",
               *(gr.update(),) * 6)
        unchanged = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
        index = len(history) - 1  # the assistant message being written
        earlier = [kept[i].question for i in sorted(kept)]
        sources_shown = False
        assistant = self.services.assistant.for_reader(self.access.hidden_files(user))
        for update in assistant.answer(text, earlier=earlier):
            if session in self.stopping:  # Stop has written the answer's last state
                self.stopping.discard(session)
                return
            shown = [*history[:-1], {"role": "assistant", "content": render_answer(update, index)}]
            record = record_of(text, update)
            radio: Any = gr.update()
            listed: Any = gr.update()
            named: Any = gr.update()
            charted: Any = gr.update()
            page: tuple[Any, Any] = (gr.update(), gr.update())
            if update.citations and not sources_shown:  # known before the model writes
                sources_shown = True
                radio = gr.update(choices=record.labels, value=None)
                charted = chart_update(update.history)  # hidden unless a history answer
                page = (None, "")  # not the page of the answer before
            if update.status in _FINAL:
                record = replace(record, audit_row=self.services.audit.record(
                    audit_entry(user, text, update, self.services.assistant.model_name)))
            kept = {**kept, index: record}
            if update.status in _FINAL:
                created = current is None  # a new incident, named after its first question
                current = self.keep(user, current, shown, kept)
                named = self.title_of(user, current) if created else named
                listed = self.incident_choices(user, current)
            if update.status in _FINAL and not update.citations:
                charted = chart_update(update.history)
            if update.status in _FINAL and update.cited:  # its first cited page, opened
                radio, page = self.first_cited(kept[index], update.cited[0])
            yield (shown, radio, kept, index, (text, update), current, listed, named,
                   *unchanged, charted, *page)
        if session in self.stopping:
            self.stopping.discard(session)
            return
        # ended: ready for the next question (here, not in a step after it, which a question
        # refused while this one streamed would also have run)
        yield (*(gr.update(),) * 4, None, *(gr.update(),) * 3, False, "", "",
               gr.update(visible=True), gr.update(visible=False), *(gr.update(),) * 3)

    def stop_answer(self, history: list[Message], streaming: tuple[str, AnswerUpdate | None] | None,
                    kept: dict[int, AnswerRecord], current: int | None,
                    request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        if streaming is not None:
            self.stopping.add(request.session_hash or "")  # first: the stream sends nothing more
        text, update = streaming or ("", None)
        index = len(history) - 1
        listed: Any = gr.update()
        named: Any = gr.update()
        history = stopped_history(history, update, index)
        if update is not None and text:
            stopped = replace(update, status=AnswerStatus.STOPPED)
            row = self.services.audit.record(audit_entry(user, text, stopped,
                                                    self.services.assistant.model_name))
            kept = {**kept, index: record_of(text, update, row)}
            created = current is None
            current = self.keep(user, current, history, kept)
            named = self.title_of(user, current) if created else named
            listed = self.incident_choices(user, current)
        return (history, kept, current, listed, named, False, "", None, "",
                gr.update(visible=True), gr.update(visible=False), history)

    @staticmethod
    def shown_again(history: list[Message] | None) -> Any:
        """The stopped answer once more, after Stop's own update: a stream update sent just
        before Stop could reach the page after it and put "Writing the answer… ▌" back."""
        return history if history is not None else gr.update()

    def first_cited(self, record: AnswerRecord, number: int) -> tuple[Any, tuple[Any, Any]]:
        """The sources list with source ``number`` chosen, and its page and passage: the page
        an answer rests on is open beside it without a click."""
        if not 1 <= number <= len(record.chunks):
            return gr.update(choices=record.labels, value=None), (None, "")
        return (gr.update(choices=record.labels, value=record.labels[number - 1]),
                source_view(self.services.previews, record.chunks[number - 1],
                            record.quotes.get(number)))

    def open_source(self, number: int | None, answer: int, kept: dict[int, AnswerRecord],
                    request: gr.Request) -> tuple[Any, Any]:
        user = self.access.require(request, Permission.ASK)
        record = kept.get(answer)
        if record is None or number is None or not 0 <= number < len(record.chunks):
            return None, ""
        if record.chunks[number].file in self.access.hidden_files(user):  # since withdrawn
            return None, NO_LONGER_READABLE
        return source_view(self.services.previews, record.chunks[number],
                           record.quotes.get(number + 1))

    def open_link(self, value: str, kept: dict[int, AnswerRecord],
                  request: gr.Request) -> tuple[Any, ...]:
        target = parse_citation_anchor(value)
        record = kept.get(target[0]) if target else None
        if target is None or record is None or not 1 <= target[1] <= len(record.chunks):
            return gr.update(), gr.update(), gr.update(), gr.update()
        answer, number = target
        image, text = self.open_source(number - 1, answer, kept, request)
        radio = gr.update(choices=record.labels, value=record.labels[number - 1])
        return radio, answer, image, text

    def rate(self, kept: dict[int, AnswerRecord], data: gr.LikeData,
             request: gr.Request) -> tuple[str, int]:
        user = self.access.require(request, Permission.ASK)
        index = data.index if isinstance(data.index, int) else data.index[0]
        record = kept.get(index)
        if record is None or record.audit_row is None:
            return "Feedback can be given once the answer is complete.", -1
        rating = {True: "up", False: "down"}.get(data.liked, str(data.liked))  # type: ignore[call-overload]
        self.services.audit.set_feedback(record.audit_row, user.name, rating)
        # words, no emoji: a console without an emoji font shows an empty box
        said = {"up": "helpful", "down": "not helpful"}.get(rating, rating)
        return f"Thanks: “{said}” stored with the answer to “{record.question}”.", index

    def add_comment(self, text: str, kept: dict[int, AnswerRecord], last_rated: int,
                    request: gr.Request) -> tuple[str, str]:
        user = self.access.require(request, Permission.ASK)
        if not (text or "").strip():
            return text, "Write a comment first."
        answered = [i for i, r in kept.items() if r.audit_row is not None]
        if not answered:
            return text, "Ask a question first: comments go with an answer."
        index = last_rated if last_rated in answered else max(answered)
        record = kept[index]
        self.services.audit.set_feedback(record.audit_row, user.name, None,  # type: ignore[arg-type]
                                    text.strip())
        return "", f"Thanks: comment stored with the answer to “{record.question}”."

    def empty(self, user: User, note: str = "") -> tuple[Any, ...]:
        """A new conversation: no answers, the example questions, nothing opened."""
        retriever = self.services.retriever.for_reader(self.access.hidden_files(user))
        examples = example_questions(retriever.frequent_codes(20))
        return (gr.Chatbot(value=[], examples=examples or None), {}, None, "",
                self.incident_choices(user), -1, -1, gr.update(choices=[], value=None), None, "",
                "", "", note, gr.update(visible=False), gr.update(visible=False))

    def opened(self, user: User, number: int, stored: dict[str, Any],
               name: str) -> tuple[Any, ...]:
        history, kept = conversation_from_json(
            withdrawn(stored, self.access.hidden_files(user)))
        # its last answer's sources, and the page it quoted first, as they were left
        last = max(kept) if kept else -1
        record = kept.get(last)
        radio: Any = gr.update(choices=[], value=None)
        page: tuple[Any, Any] = (None, "")
        if record is not None:
            radio, page = (self.first_cited(record, min(record.quotes)) if record.quotes
                           else (gr.update(choices=record.labels, value=None), (None, "")))
        return (gr.Chatbot(value=history), kept, number, name,
                self.incident_choices(user, number),
                last, -1, radio, *page, "", "", "",
                gr.update(visible=False), gr.update(visible=False))

    def restore(self, request: gr.Request) -> tuple[Any, ...]:
        """On page load: the incident the address names (a reload loses nothing), if it is
        the user's; else the empty screen with example questions and the user's list."""
        user = self.access.user(request)
        if user is None or not user.may(Permission.ASK):
            return tuple(gr.update() for _ in CONVERSATION)
        wanted = request.query_params.get("incident", "")
        if wanted.isdigit():
            return self.open_incident(int(wanted), request)
        return self.empty(user)

    def open_incident(self, number: int | None, request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        stored = self.services.incidents.load(user.name, number) if number is not None else None
        if stored is None:
            return self.empty(user, "That incident is not among yours (or was deleted).")
        return self.opened(user, number, stored, self.title_of(user, number))  # type: ignore[arg-type]

    def new(self, request: gr.Request) -> tuple[Any, ...]:
        return self.empty(self.access.require(request, Permission.ASK))

    def rename_incident(self, current: int | None, name: str,
                        request: gr.Request) -> tuple[Any, Any]:
        user = self.access.require(request, Permission.ASK)
        current = incident_number(current)
        if current is None:
            return gr.update(), "Ask a question first: the incident is saved with its answer."
        if not self.services.incidents.rename(user.name, current, name):
            return gr.update(), "Type a name first."
        return self.incident_choices(user, current), f"Renamed to “{title_from(name)}”."

    def delete_incident(self, current: int | None, request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ASK)
        if (number := incident_number(current)) is not None:
            self.services.incidents.delete(user.name, number)
        return self.empty(user, "Incident deleted.")

    def ask(self, question: str, request: gr.Request) -> Iterator[str]:
        """One question over the HTTP API: the answer as Markdown, streamed as it is
        written, with sources (no conversation: each call stands alone)."""
        user = self.access.require(request, Permission.ASK)
        text = (question or "").strip()
        if not text:
            raise gr.Error("Empty question: send the question text.")
        assistant = self.services.assistant.for_reader(self.access.hidden_files(user))
        for update in assistant.answer(text):
            if update.status in _FINAL:
                self.services.audit.record(audit_entry(user, text, update,
                                                  self.services.assistant.model_name))
            yield render_answer(update)

    def incidents(self, request: gr.Request) -> list[dict[str, Any]]:
        """The caller's incidents over the HTTP API (id, title, last update), latest first."""
        user = self.access.require(request, Permission.ASK)
        return [{"id": i.id, "title": i.title, "updated": i.updated}
                for i in self.services.incidents.list(user.name)]

    def incident_messages(self, number: int, request: gr.Request) -> list[dict[str, Any]]:
        """One of the caller's incidents over the HTTP API: its messages."""
        user = self.access.require(request, Permission.ASK)
        stored = self.services.incidents.load(user.name, int(number))
        if stored is None:
            raise gr.Error(f"Incident {number} is not among yours.")
        return list(withdrawn(stored, self.access.hidden_files(user)).get("messages", []))

    @staticmethod
    def take_example(data: gr.SelectData) -> str:
        return str((data.value or {}).get("text", ""))

    @staticmethod
    def ask_to_delete() -> tuple[Any, str]:
        return (gr.update(visible=True), "Delete this incident and its answers from your list? "
                "(The audit log keeps its questions.)")

    @staticmethod
    def keep_incident() -> tuple[Any, str]:
        return gr.update(visible=False), "Not deleted: the incident stays in your list."


def _ask_layout() -> SimpleNamespace:
    """The Ask tab's components, laid out: answers and question on the left, the cited
    page on the right, and the per-session state."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            with gr.Accordion("Your incidents", open=False, elem_id="incidents"):
                incident_list = gr.Dropdown(label="Open an incident (latest first)",
                                            choices=[], value=None, elem_id="incident-list")
                with gr.Row():
                    title = gr.Textbox(label="Name of this incident", scale=4,
                                       elem_id="incident-title")
                    rename = gr.Button("Rename", scale=1, elem_id="incident-rename")
                delete = gr.Button("Delete this incident", variant="stop", size="sm",
                                   elem_id="incident-delete")
                # the question Delete asks, with both answers: shown and hidden together
                with gr.Row(visible=False, elem_id="incident-confirm-row") as confirm:
                    delete_now = gr.Button("Yes, delete it for good", variant="stop",
                                           size="sm", elem_id="incident-confirm")
                    keep = gr.Button("Cancel: keep it", size="sm", elem_id="incident-keep")
                incident_note = gr.Markdown(elem_id="incident-note")
            chat = gr.Chatbot(label="Answers", height="58vh", elem_id="answers",
                              sanitize_html=True, buttons=["copy"], autoscroll=False,
                              feedback_options=("Like", "Dislike"))
            with gr.Row(elem_id="ask-row"):
                question = gr.Textbox(placeholder="Describe the fault or ask a question…",
                                      show_label=False, scale=8, elem_id="question",
                                      autofocus=True, max_lines=4)
                send = gr.Button("Ask", variant="primary", scale=1, min_width=70,
                                 elem_id="ask")
                stop = gr.Button("Stop", variant="stop", scale=1, min_width=70,
                                 elem_id="stop", visible=False)
            ask_note = gr.Markdown(elem_id="ask-note")
            with gr.Row():
                new_incident = gr.Button("New incident", elem_id="new-incident", scale=1)
                comment = gr.Textbox(placeholder="Comment on the answer you rated last "
                                     "(or the last answer)", show_label=False, scale=5,
                                     elem_id="comment")
                send_comment = gr.Button("Send comment", scale=1, elem_id="send-comment")
            feedback_note = gr.Markdown(elem_id="feedback-note")
            draft = gr.Button("Draft work order from this incident", size="sm",
                              elem_id="draft-work-order")
        with gr.Column(scale=2, min_width=320, elem_id="source-column"):
            cited = gr.Radio(label="Sources of the answer", choices=[], type="index",
                             elem_id="cited")
            preview = gr.Image(label="Cited page", type="filepath", interactive=False,
                               elem_id="preview", buttons=["download", "fullscreen"])
            passage = gr.Markdown(elem_id="passage")
            chart = gr.BarPlot(chart_frame(None), x="asset", y="work orders", visible=False,
                               label="Work orders per asset", elem_id="answer-chart",
                               height=240)  # shown with a history answer
    open_citation = gr.Textbox(elem_id="open-citation", elem_classes=["plantops-hidden"],
                               container=False, show_label=False)

    pending = gr.State("")  # the accepted question its answer is being written for
    busy = gr.State(False)
    live = gr.State(None)  # (question, latest update) of the streaming answer, for Stop
    records = gr.State({})  # chat message index of an answer -> AnswerRecord
    showing = gr.State(-1)  # the answer whose sources the radio lists
    rated = gr.State(-1)  # the answer rated last: a comment goes with it
    # this conversation's id in the user's incidents: a (hidden) component, not a State, so
    # that the page can put it in its address; the server checks the owner on every use
    incident = gr.Number(None, precision=0, elem_id="incident-id", container=False,
                         elem_classes=["plantops-hidden"], show_label=False)

    return SimpleNamespace(
        incident_list=incident_list, title=title, rename=rename, delete=delete,
        confirm=confirm, delete_now=delete_now, keep=keep, incident_note=incident_note,
        chat=chat, question=question, send=send, stop=stop, ask_note=ask_note,
        new_incident=new_incident, comment=comment, send_comment=send_comment,
        feedback_note=feedback_note, draft=draft, cited=cited,
        preview=preview, passage=passage, chart=chart, open_citation=open_citation,
        pending=pending, busy=busy, live=live, records=records, showing=showing,
        rated=rated, incident=incident)


def build_ask_tab(services: Services, access: Access
                  ) -> tuple[Callable[..., tuple[Any, ...]], list[Any], SimpleNamespace]:
    """The Ask tab's layout and wiring; returns how to restore the user's latest incident on
    page load, the components that fills, and the layout (the page wires its Draft work
    order button to the Work orders tab)."""
    on = AskHandlers(services, access)
    ui = _ask_layout()
    shown_conversation = [getattr(ui, name) for name in CONVERSATION]
    gr.api(on.ask, api_name="ask")
    gr.api(on.incidents, api_name="incidents")
    gr.api(on.incident_messages, api_name="incident")

    remember: dict[str, Any] = {"fn": None, "inputs": [ui.incident], "js": REMEMBER_INCIDENT}
    buttons = [ui.send, ui.stop]
    accepted = [ui.question, ui.chat, ui.pending, ui.busy, ui.ask_note, *buttons]
    streamed = [getattr(ui, name) for name in STREAMED]
    streams = []
    for trigger in (ui.send.click, ui.question.submit):
        event = trigger(on.accept, inputs=[ui.question, ui.chat, ui.busy], outputs=accepted,
                        queue=False, api_name=False)
        event.then(None, js=SCROLL_TO_QUESTION)
        # progress on the answers only: the buttons, lists and notes it also updates would
        # otherwise show a spinner until the stream ends (an Ask button with no label)
        answering = event.then(on.stream, inputs=[ui.pending, ui.chat, ui.records, ui.incident],
                               outputs=streamed, api_name=False, show_progress_on=[ui.chat])
        answering.then(**remember)
        streams.append(answering)
    stopped = gr.State(None)  # what Stop showed, shown once more right after
    ui.stop.click(on.stop_answer, inputs=[ui.chat, ui.live, ui.records, ui.incident],
                  outputs=[ui.chat, ui.records, ui.incident, ui.incident_list, ui.title, ui.busy,
                           ui.pending, ui.live, ui.ask_note, *buttons, stopped],
                  cancels=streams, api_name=False).then(
        on.shown_again, inputs=[stopped], outputs=[ui.chat], queue=False,
        api_name=False).then(**remember)
    ui.chat.example_select(on.take_example, outputs=[ui.question], api_name=False)
    ui.new_incident.click(on.new, outputs=shown_conversation, api_name=False).then(**remember)
    ui.incident_list.input(on.open_incident, inputs=[ui.incident_list],
                           outputs=shown_conversation, api_name=False).then(**remember)
    ui.rename.click(on.rename_incident, inputs=[ui.incident, ui.title],
                    outputs=[ui.incident_list, ui.incident_note], api_name=False)
    ui.delete.click(on.ask_to_delete, outputs=[ui.confirm, ui.incident_note], api_name=False)
    ui.delete_now.click(on.delete_incident, inputs=[ui.incident], outputs=shown_conversation,
                        api_name=False).then(**remember)
    ui.keep.click(on.keep_incident, outputs=[ui.confirm, ui.incident_note], api_name=False)
    ui.cited.input(on.open_source, inputs=[ui.cited, ui.showing, ui.records],
                   outputs=[ui.preview, ui.passage], api_name=False)
    ui.open_citation.change(on.open_link, inputs=[ui.open_citation, ui.records],
                            outputs=[ui.cited, ui.showing, ui.preview, ui.passage],
                            api_name=False)
    ui.chat.like(on.rate, inputs=[ui.records], outputs=[ui.feedback_note, ui.rated],
                 api_name=False)
    ui.send_comment.click(on.add_comment, inputs=[ui.comment, ui.records, ui.rated],
                          outputs=[ui.comment, ui.feedback_note], api_name=False)
    return on.restore, shown_conversation, ui
