"""Operators: ask, watch the answer stream in, stop it, open the cited pages, give feedback.

The flow of one question: ``accept`` (instant, unqueued) takes the typed text, clears the box
and shows the question, or keeps the text and says why when an answer is still streaming;
``stream`` writes the answer without touching the box, so what the operator types meanwhile
stays; ``settle`` or Stop end it. Every answer keeps its own sources, quotes and audit row, so
a click on [2] of an earlier answer opens that answer's source 2, and a thumb lands on the
answer it was given on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import gradio as gr

from app.answering import AnswerStatus, AnswerUpdate
from app.audit import AuditEntry
from app.rendering import render_answer
from app.services import Services
from app.ui.access import Access
from app.ui.sources import source_view
from app.users import Permission, User
from ingest.contract import Chunk

Message = dict[str, Any]
_FINAL = {AnswerStatus.COMPLETE, AnswerStatus.ABSTAINED, AnswerStatus.INCOMPLETE,
          AnswerStatus.MODEL_UNAVAILABLE}
BUSY_NOTE = ("Still answering the last question: your text is kept. Press **Stop** to ask it "
             "now, or **Ask** again when the answer is done.")

# After a question is accepted: bring it to the top of the answer box once. The box does not
# follow the stream (autoscroll off), so the status, safety notices and quotes at the top of
# the answer stay in view while the model writes below them.
SCROLL_TO_QUESTION = """() => {
  const rows = document.querySelectorAll('#answers .user-row');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start'});
}"""

# Citation links ([n], Sources) in answers open the page beside the answer: the click goes to a
# hidden text box whose input event the server handles (app.rendering.citation_anchor).
OPEN_CITATION_LINKS = """() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('#answers a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const box = document.querySelector('#open-citation textarea');
    box.value = link.getAttribute('href').slice(1) + ':' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    // on a phone the page sits below the answers: bring it up (scroll back for the answer)
    if (window.innerWidth < 700) {
      document.querySelector('#preview').scrollIntoView({block: 'start'});
    }
  }, true);
}"""


@dataclass(frozen=True)
class AnswerRecord:
    """What one answer of the conversation keeps: its sources, quotes and audit row."""

    question: str
    chunks: list[Chunk] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    quotes: dict[int, str] = field(default_factory=dict)  # citation number -> quoted sentence
    audit_row: int | None = None


def audit_entry(user: User, question: str, update: AnswerUpdate, model: str) -> AuditEntry:
    labels = [c.label for c in update.citations]
    return AuditEntry(user=user.name, role=user.role, action="ask", question=question,
                      retrieved=labels, cited=[labels[n - 1] for n in update.cited],
                      answer=update.text, status=update.status, model=model,
                      first_token_s=update.timings_s.get("first_token"),
                      total_s=update.timings_s.get("total"),
                      flags=[str(f) for f in update.flags]
                      + (["weak evidence"] if update.weak else []))


def record_of(question: str, update: AnswerUpdate, row: int | None = None) -> AnswerRecord:
    return AnswerRecord(question, [c.chunk for c in update.citations],
                        [f"[{c.number}] {c.label}" for c in update.citations],
                        {q.number: q.text for q in reversed(update.quotes)},  # the best wins
                        row)


def parse_citation_link(value: str) -> tuple[int, int] | None:
    """'cite-<answer>-<number>:<click time>' -> (answer, number); None for anything else."""
    parts = (value or "").split(":", 1)[0].split("-")
    if len(parts) != 3 or parts[0] != "cite" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])


def stopped_history(history: list[Message], update: AnswerUpdate | None,
                    answer: int) -> list[Message]:
    """The conversation with its streaming answer ended and labelled as stopped."""
    if not history or history[-1].get("role") != "assistant" or update is None:
        return history
    stopped = replace(update, status=AnswerStatus.STOPPED)
    return [*history[:-1], {"role": "assistant", "content": render_answer(stopped, answer)}]


def build_ask_tab(services: Services, access: Access) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
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
        with gr.Column(scale=2, min_width=320, elem_id="source-column"):
            cited = gr.Radio(label="Sources of the answer", choices=[], type="index",
                             elem_id="cited")
            preview = gr.Image(label="Cited page", type="filepath", interactive=False,
                               elem_id="preview", buttons=["download", "fullscreen"])
            passage = gr.Markdown(elem_id="passage")
    open_citation = gr.Textbox(elem_id="open-citation", elem_classes=["plantops-hidden"],
                               container=False, show_label=False)

    pending = gr.State("")  # the accepted question its answer is being written for
    busy = gr.State(False)
    live = gr.State(None)  # the streaming answer's latest update (for Stop)
    records = gr.State({})  # chat message index of an answer -> AnswerRecord
    showing = gr.State(-1)  # the answer whose sources the radio lists
    rated = gr.State(-1)  # the answer rated last: a comment goes with it

    def accept(text: str, history: list[Message], running: bool, request: gr.Request
               ) -> tuple[Any, ...]:
        access.require(request, Permission.ASK)
        text = (text or "").strip()
        if running:  # keep what was typed; say why nothing happened
            return gr.update(), history, "", running, BUSY_NOTE, gr.update(), gr.update()
        if not text:
            return gr.update(), history, "", False, "Type a question first.", gr.update(), \
                gr.update()
        shown = [*history, {"role": "user", "content": text},
                 {"role": "assistant", "content": "Searching the documents…"}]
        return "", shown, text, True, "", gr.update(visible=False), gr.update(visible=True)

    def stream(text: str, history: list[Message], kept: dict[int, AnswerRecord],
               request: gr.Request) -> Iterator[tuple[Any, ...]]:
        user = access.require(request, Permission.ASK)
        if not text:  # not accepted: nothing to answer
            return
        index = len(history) - 1  # the assistant message being written
        earlier = [kept[i].question for i in sorted(kept)]
        sources_shown = False
        for update in services.assistant.answer(text, earlier=earlier):
            shown = [*history[:-1], {"role": "assistant", "content": render_answer(update, index)}]
            record = record_of(text, update)
            radio: Any = gr.update()
            if update.citations and not sources_shown:  # known before the model writes
                sources_shown = True
                radio = gr.update(choices=record.labels, value=None)
            if update.status in _FINAL:
                record = replace(record, audit_row=services.audit.record(
                    audit_entry(user, text, update, services.assistant.model_name)))
            kept = {**kept, index: record}
            yield shown, radio, kept, index, update

    def settle() -> tuple[Any, ...]:
        return False, "", None, "", gr.update(visible=True), gr.update(visible=False)

    def stop_answer(history: list[Message], text: str, update: AnswerUpdate | None,
                    kept: dict[int, AnswerRecord], request: gr.Request) -> tuple[Any, ...]:
        user = access.require(request, Permission.ASK)
        index = len(history) - 1
        if update is not None and text:
            stopped = replace(update, status=AnswerStatus.STOPPED)
            row = services.audit.record(audit_entry(user, text, stopped,
                                                    services.assistant.model_name))
            kept = {**kept, index: record_of(text, update, row)}
        return (stopped_history(history, update, index), kept, False, "", None, "",
                gr.update(visible=True), gr.update(visible=False))

    def open_source(number: int | None, answer: int, kept: dict[int, AnswerRecord],
                    request: gr.Request) -> tuple[Any, Any]:
        access.require(request, Permission.ASK)
        record = kept.get(answer)
        if record is None or number is None or not 0 <= number < len(record.chunks):
            return None, ""
        return source_view(services.previews, record.chunks[number],
                           record.quotes.get(number + 1))

    def open_link(value: str, kept: dict[int, AnswerRecord],
                  request: gr.Request) -> tuple[Any, ...]:
        target = parse_citation_link(value)
        record = kept.get(target[0]) if target else None
        if target is None or record is None or not 1 <= target[1] <= len(record.chunks):
            return gr.update(), gr.update(), gr.update(), gr.update()
        answer, number = target
        image, text = open_source(number - 1, answer, kept, request)
        radio = gr.update(choices=record.labels, value=record.labels[number - 1])
        return radio, answer, image, text

    def rate(kept: dict[int, AnswerRecord], data: gr.LikeData,
             request: gr.Request) -> tuple[str, int]:
        user = access.require(request, Permission.ASK)
        index = data.index if isinstance(data.index, int) else data.index[0]
        record = kept.get(index)
        if record is None or record.audit_row is None:
            return "Feedback can be given once the answer is complete.", -1
        rating = {True: "up", False: "down"}.get(data.liked, str(data.liked))  # type: ignore[call-overload]
        services.audit.set_feedback(record.audit_row, user.name, rating)
        return f"Thanks: feedback stored with the answer to “{record.question}”.", index

    def add_comment(text: str, kept: dict[int, AnswerRecord], last_rated: int,
                    request: gr.Request) -> tuple[str, str]:
        user = access.require(request, Permission.ASK)
        if not (text or "").strip():
            return text, "Write a comment first."
        answered = [i for i, r in kept.items() if r.audit_row is not None]
        if not answered:
            return text, "Ask a question first: comments go with an answer."
        index = last_rated if last_rated in answered else max(answered)
        record = kept[index]
        services.audit.set_feedback(record.audit_row, user.name, None,  # type: ignore[arg-type]
                                    text.strip())
        return "", f"Thanks: comment stored with the answer to “{record.question}”."

    def ask(question: str, request: gr.Request) -> str:
        """One question over the HTTP API: the finished answer as Markdown, with sources."""
        user = access.require(request, Permission.ASK)
        text = (question or "").strip()
        if not text:
            raise gr.Error("Empty question: send the question text.")
        *_, last = services.assistant.answer(text)
        services.audit.record(audit_entry(user, text, last, services.assistant.model_name))
        return render_answer(last)

    gr.api(ask, api_name="ask")

    def new() -> tuple[Any, ...]:
        return ([], "", {}, -1, -1, gr.update(choices=[], value=None), None, "", "", "")

    buttons = [send, stop]
    accepted = [question, chat, pending, busy, ask_note, *buttons]
    streamed = [chat, cited, records, showing, live]
    streams = []
    for trigger in (send.click, question.submit):
        event = trigger(accept, inputs=[question, chat, busy], outputs=accepted, queue=False,
                        api_name=False)
        event.then(None, js=SCROLL_TO_QUESTION)
        answering = event.then(stream, inputs=[pending, chat, records], outputs=streamed,
                               api_name=False)
        answering.then(settle, outputs=[busy, pending, live, ask_note, *buttons])
        streams.append(answering)
    stop.click(stop_answer, inputs=[chat, pending, live, records],
               outputs=[chat, records, busy, pending, live, ask_note, *buttons], cancels=streams,
               api_name=False)
    new_incident.click(new, outputs=[chat, question, records, showing, rated, cited, preview,
                                     passage, feedback_note, ask_note], api_name=False)
    cited.input(open_source, inputs=[cited, showing, records], outputs=[preview, passage],
                api_name=False)
    open_citation.change(open_link, inputs=[open_citation, records],
                        outputs=[cited, showing, preview, passage], api_name=False)
    chat.like(rate, inputs=[records], outputs=[feedback_note, rated], api_name=False)
    send_comment.click(add_comment, inputs=[comment, records, rated],
                       outputs=[comment, feedback_note], api_name=False)
