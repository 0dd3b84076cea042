"""The Gradio front end: a thin layer over plain handler functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.answering import Assistant
from app.rendering import render_answer

TITLE = "PlantOps Assistant"

# System fonts only: the default theme would fetch web fonts from the internet.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "Consolas", "monospace"])

Message = dict[str, Any]


def ask_handler(assistant: Assistant):  # type: ignore[no-untyped-def]
    """Build the streaming chat handler bound to one Assistant."""

    def ask(question: str, history: list[Message]) -> Iterator[tuple[list[Message], str]]:
        question = (question or "").strip()
        if not question:
            yield history, ""
            return
        history = [*history, {"role": "user", "content": question}]
        shown = {"role": "assistant", "content": "Searching the documents…"}
        yield [*history, shown], ""
        for update in assistant.answer(question):
            shown = {"role": "assistant", "content": render_answer(update)}
            yield [*history, shown], ""

    return ask


def build_ui(assistant: Assistant, status_line: str = "") -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\nAnswers come only from the plant's documents, with sources.")
        if status_line:
            gr.Markdown(status_line, elem_id="status-line")
        with gr.Tab("Ask"):
            chat = gr.Chatbot(label="Answers", height=520, elem_id="answers",
                              sanitize_html=True, feedback_options=None, buttons=["copy"])
            with gr.Row():
                question = gr.Textbox(placeholder="Describe the fault or ask a question…",
                                      show_label=False, scale=8, elem_id="question",
                                      autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            gr.Button("New incident", elem_id="new-incident").click(
                lambda: ([], ""), outputs=[chat, question], api_name=False)
        handler = ask_handler(assistant)
        send.click(handler, inputs=[question, chat], outputs=[chat, question], api_name="ask")
        question.submit(handler, inputs=[question, chat], outputs=[chat, question],
                        api_name=False)
    return demo


def launch_ui(demo: gr.Blocks, host: str, port: int, concurrency: int,
              block: bool = True) -> None:
    demo.queue(default_concurrency_limit=concurrency)
    demo.launch(server_name=host, server_port=port, theme=THEME, ssr_mode=False,
                share=False, show_error=False, prevent_thread_lock=not block, quiet=True,
                enable_monitoring=False, mcp_server=False, pwa=False)
