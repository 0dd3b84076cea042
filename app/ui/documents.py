"""Admins: upload and ingest documents, see what failed and why, remove, status, audit."""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr

from app.audit import AuditEntry
from app.services import Services
from app.ui.access import Access
from app.users import Permission
from ingest.discovery import document_name
from ingest.errors import SourceError
from ingest.pipeline import FileResult
from ingest.sources import SUPPORTED_SUFFIXES
from serving.errors import ServingError

REPORT_COLUMNS = ["file", "outcome", "chunks", "reason"]
DOCUMENT_COLUMNS = ["file", "type", "chunks", "status", "ingested (UTC)"]
AUDIT_COLUMNS = ["id", "time_utc", "user", "role", "action", "question", "cited", "status",
                 "flags", "first_token_s", "feedback", "comment"]
# Control characters (C0, DEL, C1) have no place in a file name; everything else a plant
# names its files with (Cyrillic, CJK, accents, spaces) is kept as it is.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes; leave room for the folder's copies


def safe_upload_name(name: str) -> str:
    """The last path component in Unicode NFC, without control characters, never hidden or
    empty: '../../x.pdf' -> 'x.pdf', 'C:\\evil\\y.pdf' -> 'y.pdf', 'Насос.pdf' as it is."""
    base = _CONTROL.sub("", re.split(r"[\\/]", name)[-1]).strip().lstrip(". ")
    base = document_name(base)
    stem, suffix = (base.rsplit(".", 1)[0], "." + base.rsplit(".", 1)[1]) if "." in base \
        else (base, "")
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    base = stem.rstrip() + suffix
    if not stem.strip():
        raise SourceError(name or "(no name)", "the file name has no usable characters; "
                          "rename it and upload again")
    return base


def accept_upload(source: Path, claimed_name: str, folder: Path, max_mb: float) -> Path:
    """Check one uploaded file and move it into the upload folder under a safe name."""
    name = safe_upload_name(claimed_name)
    if source.is_symlink():
        raise SourceError(name, "the upload is a link, not a file; upload the file itself")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(name, f"unsupported file type '{suffix or 'none'}'; supported: "
                          + ", ".join(sorted(SUPPORTED_SUFFIXES)))
    size_mb = source.stat().st_size / 1e6
    if size_mb > max_mb:
        raise SourceError(name, f"{size_mb:.0f} MB is over the upload limit of {max_mb:.0f} MB "
                          "(ui.max_upload_mb); copy it to the server and run `plantops ingest`")
    target = folder / name
    if target.resolve().parent != folder.resolve():  # belt and braces after sanitising
        raise SourceError(name, "the file name would leave the upload folder")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


class _GradioProgress:
    """Ingest progress for the page: files done, and chunks embedded in the current file."""

    def __init__(self, progress: gr.Progress, files: int) -> None:
        self._progress = progress
        self._files = max(files, 1)
        self._done = 0
        self._chunks = 0
        self._embedded = 0
        self._file = ""

    def _show(self) -> None:
        within = self._embedded / self._chunks if self._chunks else 0.0
        self._progress((self._done + within) / self._files,
                       desc=f"{self._file}: {self._embedded}/{self._chunks} chunks embedded")

    def file_started(self, file: str, chunks: int, pages: int) -> None:
        self._file, self._chunks, self._embedded = file, chunks, 0
        self._show()

    def chunks_embedded(self, count: int) -> None:
        self._embedded += count
        self._show()

    def file_finished(self, result: FileResult) -> None:
        self._done += 1
        self._file, self._chunks, self._embedded = result.file, 0, 0
        self._show()


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


Listing = Callable[[], tuple[Any, ...]]


def audit_period(start: str, end: str) -> tuple[float | None, float | None]:
    """The audit filter's dates (UTC, both days included) as [since, before) epoch seconds."""
    bounds = []
    for label, value, extra_days in (("From", start, 0), ("To", end, 1)):
        value = (value or "").strip()
        if not value:
            bounds.append(None)
            continue
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"{label} '{value}' is not a date: write it as YYYY-MM-DD.") from None
        bounds.append(day.timestamp() + extra_days * 86400)
    return bounds[0], bounds[1]


def build_documents_tab(services: Services,
                        access: Access) -> tuple[Listing, list[gr.components.Component]]:
    """Returns how to fill the tab's lists and status, and the components they fill
    (the page fills them on load for admins)."""
    ingest_lock = threading.Lock()  # one ingest at a time per UI process
    uploads = services.settings.data_dir / "uploads"
    exports = services.settings.data_dir / "exports"
    max_mb = services.settings.ui.max_upload_mb

    gr.Markdown("### Add documents\nPDF, Markdown/text, DOCX manuals and CSV/XLSX/JSONL "
                f"work-order exports, up to {max_mb:.0f} MB each. A re-upload of a changed "
                "file replaces its old version.")
    files = gr.File(file_count="multiple", type="filepath", label="Files to add",
                    elem_id="upload")
    ingest_run = gr.Button("Ingest the uploaded files", variant="primary", elem_id="ingest-run")
    upload_note = gr.Markdown(elem_id="upload-note")
    report = gr.Dataframe(headers=REPORT_COLUMNS, datatype="str", interactive=False,
                          wrap=True, label="Ingest report", elem_id="ingest-report",
                          column_widths=["30%", "10%", "8%", "52%"])  # reasons in full
    gr.Markdown("### Documents in the index")
    with gr.Row():
        remove_file = gr.Dropdown([], label="Document", scale=4, elem_id="remove-file",
                                  allow_custom_value=True)  # the role check decides, not the list
        remove_run = gr.Button("Remove from the index", variant="stop", scale=1,
                               elem_id="remove-run")
        refresh = gr.Button("Refresh", scale=1, elem_id="documents-refresh")
    with gr.Row():
        remove_note = gr.Markdown(elem_id="remove-note")
        confirm_remove = gr.Button("Yes, remove it", variant="stop", visible=False, scale=0,
                                   elem_id="remove-confirm")
    documents = gr.Dataframe(headers=DOCUMENT_COLUMNS, datatype="str", interactive=False,
                             elem_id="documents", max_height=420)
    status = gr.Markdown(elem_id="status")
    gr.Markdown("### Audit log")
    with gr.Row():
        audit_user = gr.Textbox(label="User", elem_id="audit-user", scale=2)
        audit_from = gr.Textbox(label="From (YYYY-MM-DD, UTC)", elem_id="audit-from", scale=2)
        audit_to = gr.Textbox(label="To (YYYY-MM-DD, UTC)", elem_id="audit-to", scale=2)
        audit_filter = gr.Button("Filter", scale=1, elem_id="audit-filter")
    audit_note = gr.Markdown(elem_id="audit-note")
    audit = gr.Dataframe(headers=AUDIT_COLUMNS, datatype="str", interactive=False, wrap=True,
                         elem_id="audit", label="Latest 200 entries (newest first)",
                         max_height=560)
    with gr.Row():
        export = gr.Button("Export the whole audit log as CSV", elem_id="audit-export")
        export_file = gr.Markdown(elem_id="audit-file")  # a one-use link for this admin

    shown = [documents, remove_file, status, audit]

    def listing() -> tuple[Any, ...]:
        entries = services.manifest.entries()
        rows = [[e.file, e.doc_type, e.chunks, e.status, _utc(e.ingested_at)] for e in entries]
        names = [e.file for e in entries]
        try:
            served = services.client.served_model()
            model = f"reachable, serving `{served.get('id', services.assistant.model_name)}`"
        except ServingError as exc:
            model = f"**unreachable** ({exc}); answers fall back to retrieval only"
        counts = {t: services.index.count(t) for t in ("manual", "log")}
        state = (f"**Index:** {len(entries)} documents, {counts['manual']} manual passages, "
                 f"{counts['log']} work orders · embedding model "
                 f"`{services.embedder.model_id}`  \n**Model server:** {model}  \n**Sign-in:** "
                 + ("single-user (no login)" if access.single_user
                    else f"login, {access.users.count()} users"))
        audit_rows = [[r[c] for c in AUDIT_COLUMNS] for r in services.audit.rows(limit=200)]
        return (rows, gr.update(choices=names, value=None), state, audit_rows)

    def show(request: gr.Request) -> tuple[Any, ...]:
        access.require(request, Permission.ADMIN)
        return listing()

    def ingest(paths: list[str] | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        user = access.require(request, Permission.ADMIN)
        if not paths:  # said next to the button; nothing else changes
            return ("⚠️ Choose one or more files to add first.",
                    *(gr.update() for _ in range(2 + len(shown))))
        rows: list[list[Any]] = []
        accepted: list[Path] = []
        for raw in paths:
            path = Path(raw)
            try:
                if safe_upload_name(path.name) in {p.name for p in accepted}:
                    raise SourceError(safe_upload_name(path.name), "another file in this upload "
                                      "has the same name; rename one and upload it again")
                accepted.append(accept_upload(path, path.name, uploads, max_mb))
            except SourceError as exc:
                rows.append([exc.file, "refused", 0, exc.reason])
        if accepted:
            with ingest_lock:
                result = services.ingestor.ingest(
                    accepted, observer=_GradioProgress(progress, len(accepted)))
            rows += [[r.file, r.outcome, r.chunks, r.reason] for r in result.results]
        services.audit.record(AuditEntry(
            user=user.name, role=user.role, action="ingest",
            question=", ".join(Path(p).name for p in paths),
            answer="; ".join(f"{r[0]}: {r[1]}" for r in rows)))
        failed = sum(1 for r in rows if r[1] in ("failed", "refused"))
        note = (f"{len(rows) - failed} of {len(rows)} files in; {failed} not (reasons below)."
                if failed else f"All {len(rows)} files in.")
        return (note, rows, None, *listing())

    def ask_to_remove(name: str | None, request: gr.Request) -> tuple[Any, Any]:
        access.require(request, Permission.ADMIN)
        if not name:
            return "⚠️ Choose the document to remove.", gr.update(visible=False)
        return (f"Remove **{name}** from the index? Answers will no longer cite it and its "
                "kept copy is deleted; ingesting the file again brings it back.",
                gr.update(visible=True))

    def remove(name: str | None, request: gr.Request) -> tuple[Any, ...]:
        user = access.require(request, Permission.ADMIN)
        if not name:
            return ("⚠️ Choose the document to remove.", gr.update(visible=False),
                    *(gr.update() for _ in shown))
        with ingest_lock:
            known = services.ingestor.remove(name)
        services.audit.record(AuditEntry(user=user.name, role=user.role, action="remove",
                                         question=name, status="removed" if known else
                                         "not indexed"))
        note = f"{name} removed from the index." if known else f"{name} was not indexed."
        return (note, gr.update(visible=False), *listing())

    def remove_document(name: str, request: gr.Request) -> str:
        """Remove one document from the index (HTTP API: a script confirms by calling)."""
        return str(remove(name, request)[0])

    def filter_audit(name: str, start: str, end: str,
                     request: gr.Request) -> tuple[str, Any]:
        access.require(request, Permission.ADMIN)
        try:
            since, before = audit_period(start, end)
        except ValueError as exc:
            return f"⚠️ {exc}", gr.update()
        rows = services.audit.rows(limit=200, user=(name or "").strip() or None, since=since,
                                   before=before)
        return (f"{len(rows)} entries shown (at most 200, newest first)."
                if rows else "No entries match."), [[r[c] for c in AUDIT_COLUMNS] for r in rows]

    def export_audit(request: gr.Request) -> str:
        """A one-use link for this admin; the file is deleted once fetched (or unfetched,
        when the link expires)."""
        user = access.require(request, Permission.ADMIN)
        exports.mkdir(parents=True, exist_ok=True)
        name = f"plantops-audit-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        target = exports / f"{secrets.token_hex(16)}.csv"
        with target.open("w", newline="", encoding="utf-8") as out:
            rows = services.audit.export_csv(out)
        link = access.grants.grant(user, Permission.ADMIN, target, name, one_time=True)
        return f"[Download {name}]({link}) ({rows} entries; the link works once, for you)"

    ingest_run.click(ingest, inputs=[files], outputs=[upload_note, report, files, *shown],
                     api_name="ingest_files", concurrency_limit=1,
                     show_progress_on=[report])  # one progress display, not one per table
    remove_run.click(ask_to_remove, inputs=[remove_file],
                     outputs=[remove_note, confirm_remove], api_name=False)
    confirm_remove.click(remove, inputs=[remove_file],
                         outputs=[remove_note, confirm_remove, *shown], api_name=False)
    audit_filter.click(filter_audit, inputs=[audit_user, audit_from, audit_to],
                       outputs=[audit_note, audit], api_name=False)
    gr.api(remove_document, api_name="remove_document")
    refresh.click(show, outputs=shown, api_name="documents")
    export.click(export_audit, outputs=[export_file], api_name="audit_export")
    return listing, shown
