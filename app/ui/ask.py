"""Operators: ask, watch the answer stream in, open the cited pages, give feedback."""

from __future__ import annotations

from collections.abc import Iterator
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


def audit_entry(user: User, question: str, update: AnswerUpdate, model: str) -> AuditEntry:
    labels = [c.label for c in update.citations]
    return AuditEntry(user=user.name, role=user.role, action="ask", question=question,
                      retrieved=labels, cited=[labels[n - 1] for n in update.cited],
                      answer=update.text, status=update.status, model=model,
                      first_token_s=update.timings_s.get("first_token"),
                      total_s=update.timings_s.get("total"),
                      flags=[str(f) for f in update.flags]
                      + (["weak evidence"] if update.weak else []))


def build_ask_tab(services: Services, access: Access) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Answers", height=520, elem_id="answers",
                              sanitize_html=True, buttons=["copy"],
                              feedback_options=("Like", "Dislike"))
            with gr.Row():
                question = gr.Textbox(placeholder="Describe the fault or ask a question…",
                                      show_label=False, scale=8, elem_id="question",
                                      autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                new_incident = gr.Button("New incident", elem_id="new-incident", scale=1)
                comment = gr.Textbox(placeholder="Comment on the last answer (optional)",
                                     show_label=False, scale=5, elem_id="comment")
                send_comment = gr.Button("Send comment", scale=1, elem_id="send-comment")
            feedback_note = gr.Markdown(elem_id="feedback-note")
        with gr.Column(scale=2):
            cited = gr.Radio(label="Open a source of the last answer", choices=[],
                             type="index", elem_id="cited")
            preview = gr.Image(label="Cited page", type="filepath", interactive=False,
                               elem_id="preview", buttons=["download", "fullscreen"])
            passage = gr.Markdown(elem_id="passage")

    earlier = gr.State([])  # this incident's questions, oldest first
    answer_ids = gr.State({})  # chat message index -> audit row id
    citations = gr.State([])  # the last answer's cited chunks
    quoted = gr.State({})  # citation number -> the sentence quoted from it, marked on its page

    def ask(text: str, history: list[Message], asked: list[str], ids: dict[int, int],
            request: gr.Request) -> Iterator[tuple[Any, ...]]:
        user = access.require(request, Permission.ASK)
        text = (text or "").strip()
        if not text:
            yield history, "", gr.update(), asked, ids, gr.update(), gr.update()
            return
        history = [*history, {"role": "user", "content": text}]
        shown: Message = {"role": "assistant", "content": "Searching the documents…"}
        yield [*history, shown], "", gr.update(), asked, ids, gr.update(), gr.update()
        chunks: list[Chunk] = []
        for update in services.assistant.answer(text, earlier=asked):
            shown = {"role": "assistant", "content": render_answer(update)}
            sources: Any = gr.update()
            if update.citations and not chunks:  # sources are known before the model writes
                chunks = [c.chunk for c in update.citations]
                sources = gr.update(choices=[f"[{c.number}] {c.label}" for c in update.citations],
                                    value=None)
            if update.status in _FINAL:
                row = services.audit.record(audit_entry(user, text, update,
                                                        services.assistant.model_name))
                ids = {**ids, len(history): row}
                asked = [*asked, text]
            yield ([*history, shown], "", sources, asked, ids, chunks,
                   {q.number: q.text for q in reversed(update.quotes)})  # the best wins

    def open_source(index: int | None, chunks: list[Chunk], quotes: dict[int, str],  # type: ignore[no-untyped-def]
                    request: gr.Request):
        access.require(request, Permission.ASK)
        if index is None or not 0 <= index < len(chunks):
            return None, ""
        return source_view(services.previews, chunks[index], quotes.get(index + 1))

    def rate(ids: dict[int, int], data: gr.LikeData, request: gr.Request) -> str:
        user = access.require(request, Permission.ASK)
        index = data.index if isinstance(data.index, int) else data.index[0]
        row = ids.get(index)
        if row is None:
            return "Feedback can be given once the answer is complete."
        rating = {True: "up", False: "down"}.get(data.liked, str(data.liked))  # type: ignore[call-overload]
        services.audit.set_feedback(row, user.name, rating)
        return "Thanks: feedback stored."

    def add_comment(text: str, ids: dict[int, int], request: gr.Request) -> tuple[str, str]:
        user = access.require(request, Permission.ASK)
        if not (text or "").strip():
            return text, "Write a comment first."
        if not ids:
            return text, "Ask a question first: comments attach to the last answer."
        services.audit.set_feedback(ids[max(ids)], user.name, None, text.strip())
        return "", "Thanks: comment stored with the last answer."

    outputs = [chat, question, cited, earlier, answer_ids, citations, quoted]
    send.click(ask, inputs=[question, chat, earlier, answer_ids], outputs=outputs,
               api_name="ask")
    question.submit(ask, inputs=[question, chat, earlier, answer_ids], outputs=outputs,
                    api_name=False)
    new_incident.click(lambda: ([], "", gr.update(choices=[], value=None), [], {}, [], {}, None,
                                ""),
                       outputs=[*outputs, preview, passage], api_name=False)
    cited.change(open_source, inputs=[cited, citations, quoted], outputs=[preview, passage],
                 api_name=False)
    chat.like(rate, inputs=[answer_ids], outputs=[feedback_note], api_name=False)
    send_comment.click(add_comment, inputs=[comment, answer_ids],
                       outputs=[comment, feedback_note], api_name=False)
