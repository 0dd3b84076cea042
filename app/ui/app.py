"""The page: one tab per kind of user; each tab is shown to the roles that may use it,
and every handler checks the role again on the server."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from app.records.sessions import SharedSessions
from app.records.sign_ins import SharedFailures
from app.records.users import Permission
from app.services import Services
from app.ui.access import Access
from app.ui.ask import build_ask_tab
from app.ui.documents import build_documents_tab
from app.ui.guard import Guard, SignInThrottle
from app.ui.handover import build_handover_tab
from app.ui.history import build_history_view
from app.ui.page_scripts import OPEN_CITATION_LINKS, SAY_SIGN_IN_WAIT
from app.ui.search import build_search_tab
from app.ui.work_orders import TAB_ID as WORK_ORDERS_TAB
from app.ui.work_orders import build_work_orders_tab

TITLE = "PlantOps Assistant"
CSS = Path(__file__).with_name("plantops.css")
PRINT_CSS = Path(__file__).with_name("print.css")
MODEL_DOWN_BANNER = ("⚠️ **The language model is not answering.** Questions still get the "
                     "closest passages from the documents, with sources, but no written "
                     "answer. An admin sees the cause in the Documents tab.")

# System fonts only: the default theme would fetch web fonts from the internet.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "Consolas", "monospace"])


def build_ui(services: Services, access: Access, status_line: str = "") -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Row(elem_id="header"):
            gr.Markdown(f"# {TITLE}\nAnswers come only from the plant's documents, "
                        "with sources.", elem_id="title")
            who = gr.Markdown(elem_id="who")
            if not access.single_user:
                gr.Button("Sign out", link="/logout", size="sm", scale=0, elem_id="logout")
        if status_line:
            gr.Markdown(status_line, elem_id="status-line")
        banner = gr.Markdown(MODEL_DOWN_BANNER, elem_id="model-banner", visible=False)
        # on a phone a tab that does not fit goes to the next line, not into a "…" menu
        with gr.Tabs(elem_id="tabs", overflow_behavior="wrap") as tabs:
            with gr.Tab("Ask", elem_id="tab-ask") as ask_tab:
                restore, restored, ask = build_ask_tab(services, access)
            with gr.Tab("Work orders", id=WORK_ORDERS_TAB, elem_id="tab-work-orders"
                        ) as work_orders_tab:
                work_orders, drafted, on_form = build_work_orders_tab(services, access)
            # the technicians' views, in one tab: five top tabs take two lines on a phone
            with gr.Tab("Search", elem_id="tab-search", visible=False) as search_tab, \
                    gr.Tabs(overflow_behavior="wrap"):
                with gr.Tab("Passages", elem_id="tab-passages"):
                    search_file = build_search_tab(services, access)
                with gr.Tab("Work-order history", elem_id="tab-history"):
                    build_history_view(services, access)
                with gr.Tab("Shift handover", elem_id="tab-handover") as handover_tab:
                    handover_opened, handover_shown = build_handover_tab(services, access)
            with gr.Tab("Documents", elem_id="tab-documents", visible=False) as documents_tab:
                listing, listed = build_documents_tab(services, access)
        ask.draft.click(work_orders.draft_from_incident, inputs=[ask.incident],
                        outputs=[ask.feedback_note, tabs, *drafted], api_name=False)
        work_orders_tab.select(work_orders.show, inputs=on_form, outputs=drafted,
                               api_name=False)
        handover_tab.select(handover_opened, outputs=handover_shown, api_name=False)

        def on_load(request: gr.Request) -> tuple[Any, ...]:
            user = access.user(request)
            if user is None:
                raise gr.Error("Your account no longer exists. Sign out and ask an admin.")
            admin = user.may(Permission.ADMIN)
            return (f"Signed in as **{user.name}** ({user.role})",
                    gr.Tab(visible=user.may(Permission.ASK)),
                    gr.Tab(visible=user.may(Permission.SEARCH)),
                    gr.Tab(visible=admin),
                    *(listing() if admin else (gr.update(),) * len(listed)))

        def model_banner() -> Any:
            return gr.update(visible=not services.client.any_answers())

        demo.load(on_load, outputs=[who, ask_tab, search_tab, documents_tab, *listed],
                  api_name=False)
        demo.load(model_banner, outputs=[banner], api_name=False)
        # unqueued: it must land before the user's first question, not after its answer
        demo.load(restore, outputs=restored, api_name=False, queue=False)

        def search_files(request: gr.Request) -> Any:
            """The File filter, fresh each time the tab opens (an admin may have ingested)."""
            hidden = access.hidden_files(access.require(request, Permission.SEARCH))
            return gr.update(choices=["all", *(e.file for e in services.manifest.entries()
                                               if e.file not in hidden)])

        search_tab.select(search_files, outputs=[search_file], api_name=False)
        gr.Timer(30).tick(model_banner, outputs=[banner], api_name=False)  # comes and goes
    return demo


def cookie_id(services: Services) -> str:
    """The session cookie's name part: one for every replica of a deployment (they share the
    sessions), another for each deployment (cookies are per host, not per port)."""
    where = services.database.shown if services.settings.database.url else \
        str(services.settings.data_dir.resolve())
    return hashlib.sha256(where.encode("utf-8")).hexdigest()[:32]


WARMING_UP = ("warming up: loading the embedding model and the index, so that the first "
              "question does not wait for them")


def readiness(check: Callable[[], str], warmed: threading.Event | None) -> Callable[[], str]:
    """What /healthz answers: ready while the records database answers, and not before the
    warm-up has run. A replica restarted under load answered its first search 59 s after it
    said it was healthy (the balancer had sent users to it at once)."""
    def ready() -> str:
        detail = check()
        if warmed is not None and not warmed.is_set():
            raise RuntimeError(WARMING_UP)
        return detail
    return ready


def launch_ui(demo: gr.Blocks, services: Services, access: Access,
              block: bool = True, warmed: threading.Event | None = None) -> None:
    """Serve ``demo``; /healthz says ready once ``warmed`` is set (None: at once)."""
    ui = services.settings.ui
    data = services.settings.data_dir
    guard = Middleware(Guard, access=access, grants=access.grants,
                       throttle=SignInThrottle(SharedFailures(services.database)),
                       sessions=SharedSessions(services.database, ui.session_idle_minutes * 60),
                       audit=services.audit,
                       secure=ui.served_over_tls(), cookie_id=cookie_id(services),
                       health=readiness(services.database.check, warmed),
                       sign_in_script=SAY_SIGN_IN_WAIT, owners=services.manifest.files_of)
    demo.queue(default_concurrency_limit=ui.concurrency)
    demo.launch(server_name=ui.host, server_port=ui.port, theme=THEME, ssr_mode=False,
                share=False, show_error=False, prevent_thread_lock=not block, quiet=True,
                enable_monitoring=False, mcp_server=False, pwa=False, run_history=False,
                auth=None if access.single_user else access.login,
                auth_message=f"{TITLE}: sign in with the account an admin gave you.",
                css_paths=[CSS], js=OPEN_CITATION_LINKS,
                head=f"<style>{PRINT_CSS.read_text(encoding='utf-8')}</style>",
                footer_links=[],  # no "Use via API" page for operators (roles still apply)
                # refused by the server before the bytes reach disk; checked again on ingest
                max_file_size=int(ui.max_upload_mb * 1_000_000),
                ssl_certfile=str(ui.ssl_certfile) if ui.ssl_certfile else None,
                ssl_keyfile=str(ui.ssl_keyfile) if ui.ssl_keyfile else None,
                app_kwargs={"middleware": [guard]},
                # Page images: every role may open the pages the answers cite. Originals and
                # exports are never listed here: they go through access.grants (guard.py).
                allowed_paths=[str(data / "previews")])
