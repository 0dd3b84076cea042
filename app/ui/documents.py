"""Admins: upload and ingest documents, see what failed and why, remove, status, audit."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from app.answer.rendering import escape_text
from app.records.audit import AuditEntry
from app.records.collections import CollectionError
from app.records.users import Permission
from app.services import Services
from app.ui.access import Access
from ingest.discovery import document_name, link_refusal
from ingest.errors import SourceError
from ingest.pipeline import FileResult
from ingest.sources import SUPPORTED_SUFFIXES
from serving.errors import ServingError

REPORT_COLUMNS = ["file", "outcome", "chunks", "reason"]
DOCUMENT_COLUMNS = ["file", "type", "chunks", "status", "ingested (UTC)", "collection"]
NO_COLLECTION = "(none: every signed-in user)"
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
    """Check one uploaded file and move it into the upload folder under a safe name: one
    copy, the data dir's; Gradio's cached copy is gone whether the file is taken or refused
    (``discard_cached``)."""
    try:
        name = safe_upload_name(claimed_name)
        if reason := link_refusal(source):
            raise SourceError(name, reason)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise SourceError(name, f"unsupported file type '{suffix or 'none'}'; supported: "
                              + ", ".join(sorted(SUPPORTED_SUFFIXES)))
        size_mb = source.stat().st_size / 1e6
        if size_mb > max_mb:
            raise SourceError(name, f"{size_mb:.0f} MB is over the upload limit of "
                              f"{max_mb:.0f} MB (ui.max_upload_mb); copy it to the server and "
                              "run `plantops ingest`")
        target = folder / name
        if target.resolve().parent != folder.resolve():  # belt and braces after sanitising
            raise SourceError(name, "the file name would leave the upload folder")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)  # a new inode: the cache's links never reach it
        return target
    finally:
        discard_cached(source)


def discard_cached(source: Path) -> None:
    """Delete Gradio's cached copy of an upload, and the one-file folder Gradio made for it
    (named by a hash of the content, so the bytes left behind are reachable by their hash).
    Nothing outside Gradio's upload folder is touched, whatever path a caller names."""
    cache = Path(get_upload_folder()).resolve()
    if not source.resolve().is_relative_to(cache):
        return
    source.unlink(missing_ok=True)
    if source.parent.resolve() != cache:
        with contextlib.suppress(OSError):  # only if empty: another upload may share it
            source.parent.rmdir()


def remove_upload(folder: Path, name: str) -> bool:
    """Delete the kept upload of a document removed from the index; False if there was none
    (a document ingested from a folder has none)."""
    try:
        if safe_upload_name(name) != name:  # a folder's document ("pumps/notes.md"): none
            return False
    except SourceError:
        return False
    target = folder / name
    if target.resolve().parent != folder.resolve() or not target.is_file():
        return False
    target.unlink()
    return True


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
        # a file's share: a fifth once read, the rest as its chunks are embedded
        within = 0.2 + 0.8 * self._embedded / self._chunks if self._chunks else 0.0
        self._progress((self._done + within) / self._files,
                       desc=f"{self._file}: {self._embedded}/{self._chunks} chunks embedded")

    def file_reading(self, file: str) -> None:
        """Parsing a long PDF takes seconds with no chunk yet: say which file, not a bare 0%."""
        self._progress(self._done / self._files, desc=f"reading {file} (file {self._done + 1} "
                       f"of {self._files}): text, tables and pages")

    def waiting(self, holder: str) -> None:
        self._progress(0.0, desc=f"waiting: another ingest is writing the index ({holder})")

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


# What the tab's lists and status fill: documents, the remove list, status, audit log, and
# the phone's cards of the documents and the audit log.
SHOWN = 6


def _cards(lines: list[str], empty: str) -> str:
    """One Markdown list item per row: what a phone shows instead of a grid (below 640 px a
    grid squeezes each column to a letter or two a line)."""
    return "\n".join(f"- {line}" for line in lines) if lines else empty


def report_cards(rows: list[list[Any]]) -> str:
    """The ingest report: file, outcome, chunks, and the reason in full."""
    return _cards([f"**{escape_text(str(file))}** — {escape_text(str(outcome))}, "
                   f"{_chunks(chunks)}" + (f": {escape_text(str(reason))}" if reason else "")
                   for file, outcome, chunks, reason in rows], "")


def _chunks(n: Any) -> str:
    return "1 chunk" if str(n) == "1" else f"{n} chunks"


def document_cards(rows: list[list[Any]]) -> str:
    """The documents in the index: file, type, chunks, status, when ingested, and the
    collection that limits who reads it."""
    return _cards([f"**{escape_text(str(file))}** — {kind}, {_chunks(chunks)}, "
                   f"{escape_text(str(status))}, {ingested} UTC"
                   + (f", collection **{escape_text(str(collection))}**" if collection else "")
                   for file, kind, chunks, status, ingested, collection in rows],
                  "No documents yet.")


def audit_cards(rows: list[list[Any]]) -> str:
    """The audit entries, newest first: when, who, what, about what, and how it ended."""
    lines = []
    for row in rows:
        entry = dict(zip(AUDIT_COLUMNS, row, strict=True))
        role = f" ({entry['role']})" if entry.get("role") else ""  # none: a failed sign-in
        said = [f"{entry['time_utc']} · **{escape_text(str(entry['user']))}**{role} · "
                f"{escape_text(str(entry['action']))}"]
        for key in ("question", "status", "feedback", "comment"):
            if entry.get(key):
                said.append(f"{key}: {escape_text(str(entry[key]))}")
        lines.append(" · ".join(said))
    return _cards(lines, "No entries.")


class DocumentsHandlers:
    """The Documents tab's handlers: plain methods of their inputs, the services and the
    access check (tested without a browser); ``build_documents_tab`` lays out and wires."""

    def __init__(self, services: Services, access: Access) -> None:
        self.services = services
        self.access = access
        self.ingest_lock = threading.Lock()  # one ingest at a time per UI process
        self.uploads = services.settings.data_dir / "uploads"
        self.exports = services.settings.data_dir / "exports"
        self.max_mb = services.settings.ui.max_upload_mb


    def listing(self) -> tuple[Any, ...]:
        entries = self.services.manifest.entries()
        assigned = self.services.collections.assignments()
        rows = [[e.file, e.doc_type, e.chunks, e.status, _utc(e.ingested_at),
                 assigned.get(e.file, "")] for e in entries]
        names = [e.file for e in entries]
        try:
            served = self.services.client.served_model()
            model = f"reachable, serving `{served.get('id', self.services.assistant.model_name)}`"
        except ServingError as exc:
            model = f"**unreachable** ({exc}); answers fall back to retrieval only"
        counts = {t: self.services.index.count(t) for t in ("manual", "log")}
        state = (f"**Index:** {len(entries)} documents, {counts['manual']} manual passages, "
                 f"{counts['log']} work orders · embedding model "
                 f"`{self.services.embedder.model_id}`  \n**Model server:** {model}  \n"
                 "**Sign-in:** "
                 + ("single-user (no login)" if self.access.single_user
                    else f"login, {self.access.users.count()} users"))
        audit_rows = [[r[c] for c in AUDIT_COLUMNS] for r in self.services.audit.rows(limit=200)]
        return (rows, gr.update(choices=names, value=None), state, audit_rows,
                document_cards(rows), audit_cards(audit_rows))

    def show(self, request: gr.Request) -> tuple[Any, ...]:
        self.access.require(request, Permission.ADMIN)
        return self.listing()

    def ingest(self, paths: list[str] | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        user = self.access.require(request, Permission.ADMIN)
        if not paths:  # said next to the button; nothing else changes
            return ("⚠️ Choose one or more files to add first.",
                    *(gr.update() for _ in range(3 + SHOWN)))
        progress(0.0, desc=f"checking {len(paths)} file(s): type, size, name")
        rows: list[list[Any]] = []
        accepted: list[Path] = []
        for raw in paths:
            path = Path(raw)
            try:
                if safe_upload_name(path.name) in {p.name for p in accepted}:
                    raise SourceError(safe_upload_name(path.name), "another file in this upload "
                                      "has the same name; rename one and upload it again")
                accepted.append(accept_upload(path, path.name, self.uploads, self.max_mb))
            except SourceError as exc:
                rows.append([exc.file, "refused", 0, exc.reason])
            finally:
                discard_cached(path)  # taken or refused, Gradio's copy goes
        if accepted:
            with self.ingest_lock:
                result = self.services.ingestor.ingest(
                    accepted, observer=_GradioProgress(progress, len(accepted)))
            rows += [[r.file, r.outcome, r.chunks, r.reason] for r in result.results]
        self.services.audit.record(AuditEntry(
            user=user.name, role=user.role, action="ingest",
            question=", ".join(Path(p).name for p in paths),
            answer="; ".join(f"{r[0]}: {r[1]}" for r in rows)))
        failed = sum(1 for r in rows if r[1] in ("failed", "refused"))
        note = (f"{len(rows) - failed} of {len(rows)} files in; {failed} not (reasons below)."
                if failed else f"All {len(rows)} files in.")
        return (note, rows, report_cards(rows), None, *self.listing())

    def ask_to_remove(self, name: str | None, request: gr.Request) -> tuple[Any, Any]:
        self.access.require(request, Permission.ADMIN)
        if not name:
            return "⚠️ Choose the document to remove.", gr.update(visible=False)
        return (f"Remove **{name}** from the index? Answers will no longer cite it and its "
                "kept copy is deleted; ingesting the file again brings it back.",
                gr.update(visible=True))

    def remove(self, name: str | None, request: gr.Request) -> tuple[Any, ...]:
        user = self.access.require(request, Permission.ADMIN)
        if not name:
            return ("⚠️ Choose the document to remove.", gr.update(visible=False),
                    *(gr.update() for _ in range(SHOWN)))
        with self.ingest_lock:
            known = self.services.ingestor.remove(name)
            remove_upload(self.uploads, name)
        self.services.audit.record(AuditEntry(user=user.name, role=user.role, action="remove",
                                         question=name, status="removed" if known else
                                         "not indexed"))
        note = f"{name} removed from the index." if known else f"{name} was not indexed."
        return (note, gr.update(visible=False), *self.listing())

    def set_collection(self, name: str | None, collection: str | None,
                       request: gr.Request) -> tuple[Any, ...]:
        """Put one document into a collection (or none): its readers change at their next
        request, on every replica."""
        user = self.access.require(request, Permission.ADMIN)
        if not name:
            return ("⚠️ Choose the document first.", *(gr.update() for _ in range(SHOWN)))
        if name not in {e.file for e in self.services.manifest.entries()}:
            return (f"⚠️ {name} is not in the index: choose a document of the list.",
                    *(gr.update() for _ in range(SHOWN)))
        chosen = None if not collection or collection == NO_COLLECTION else collection
        try:
            changed = self.services.collections.assign([name], chosen, by=user.name)
        except CollectionError as exc:
            return (f"⚠️ {exc}", *(gr.update() for _ in range(SHOWN)))
        self.services.audit.record(AuditEntry(user=user.name, role=user.role,
                                              action="collection",
                                              question=f"{name} -> {chosen or 'none'}",
                                              status="changed" if changed else "unchanged"))
        readers = self.services.collections.readers.get(chosen or "")
        who = ("every signed-in user" if chosen is None else
               ", ".join([*sorted(readers.roles), *sorted(readers.groups)]) + " and admins"
               if readers and (readers.roles or readers.groups) else "admins only")
        return (f"{name} is now in {chosen or 'no collection'}: read by {who}.",
                *self.listing())

    def collection_choices(self) -> list[str]:
        return [NO_COLLECTION, *sorted(self.services.collections.readers)]

    def remove_document(self, name: str, request: gr.Request) -> str:
        """Remove one document from the index (HTTP API: a script confirms by calling)."""
        return str(self.remove(name, request)[0])

    def filter_audit(self, name: str, start: str, end: str,
                     request: gr.Request) -> tuple[str, Any, Any]:
        self.access.require(request, Permission.ADMIN)
        try:
            since, before = audit_period(start, end)
        except ValueError as exc:
            return f"⚠️ {exc}", gr.update(), gr.update()
        rows = self.services.audit.rows(limit=200, user=(name or "").strip() or None, since=since,
                                   before=before)
        shown = [[r[c] for c in AUDIT_COLUMNS] for r in rows]
        return (f"{len(rows)} entries shown (at most 200, newest first)."
                if rows else "No entries match."), shown, audit_cards(shown)

    def export_audit(self, request: gr.Request) -> str:
        """A one-use link for this admin; the file is deleted once fetched (or unfetched,
        when the link expires)."""
        user = self.access.require(request, Permission.ADMIN)
        self.exports.mkdir(parents=True, exist_ok=True)
        name = f"plantops-audit-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        target = self.exports / f"{secrets.token_hex(16)}.csv"
        with target.open("w", newline="", encoding="utf-8") as out:
            rows = self.services.audit.export_csv(out)
        link = self.access.grants.grant(user, Permission.ADMIN, target, name, one_time=True)
        return f"[Download {name}]({link}) ({rows} entries; the link works once, for you)"


def _documents_layout(max_mb: float, collections: list[str]) -> SimpleNamespace:
    """Upload and its report, the documents and their status, the audit log."""
    gr.Markdown("### Add documents\nPDF, Markdown/text, DOCX manuals and CSV/XLSX/JSONL "
                f"work-order exports, up to {max_mb:.0f} MB each. A re-upload of a changed "
                "file replaces its old version.")
    files = gr.File(file_count="multiple", type="filepath", label="Files to add",
                    elem_id="upload")
    ingest_run = gr.Button("Ingest the uploaded files", variant="primary", elem_id="ingest-run")
    upload_note = gr.Markdown(elem_id="upload-note")
    report = gr.Dataframe(headers=REPORT_COLUMNS, datatype="str", interactive=False,
                          wrap=True, label="Ingest report", elem_id="ingest-report",
                          column_widths=["30%", "10%", "8%", "52%"],  # reasons in full
                          elem_classes=["desk-only"])
    report_cards_md = gr.Markdown(elem_id="ingest-report-cards", elem_classes=["phone-only"])
    gr.Markdown("### Documents in the index")
    with gr.Row():
        remove_file = gr.Dropdown([], label="Document", scale=4, elem_id="remove-file",
                                  allow_custom_value=True)  # the role check decides, not the list
        remove_run = gr.Button("Remove from the index", variant="stop", scale=1,
                               elem_id="remove-run")
        refresh = gr.Button("Refresh", scale=1, elem_id="documents-refresh")
    with gr.Row():
        collection = gr.Dropdown(collections, value=NO_COLLECTION, scale=4,
                                 label="Collection (who may read the chosen document)",
                                 elem_id="collection-pick",
                                 allow_custom_value=True)  # the handler decides, not the list
        collection_run = gr.Button("Put into this collection", scale=2,
                                   elem_id="collection-run")
    with gr.Row():
        remove_note = gr.Markdown(elem_id="remove-note")
        confirm_remove = gr.Button("Yes, remove it", variant="stop", visible=False, scale=0,
                                   elem_id="remove-confirm")
    documents = gr.Dataframe(headers=DOCUMENT_COLUMNS, datatype="str", interactive=False,
                             elem_id="documents", max_height=420, elem_classes=["desk-only"])
    documents_cards = gr.Markdown(elem_id="documents-cards", elem_classes=["phone-only"])
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
                         max_height=560, elem_classes=["desk-only"])
    audit_cards_md = gr.Markdown(elem_id="audit-cards", elem_classes=["phone-only"])
    with gr.Row():
        export = gr.Button("Export the whole audit log as CSV", elem_id="audit-export")
        export_file = gr.Markdown(elem_id="audit-file")  # a one-use link for this admin

    return SimpleNamespace(
        files=files, ingest_run=ingest_run, upload_note=upload_note, report=report,
        report_cards=report_cards_md, documents_cards=documents_cards, audit_cards=audit_cards_md,
        remove_file=remove_file, remove_run=remove_run, refresh=refresh,
        collection=collection, collection_run=collection_run,
        remove_note=remove_note, confirm_remove=confirm_remove, documents=documents,
        status=status, audit_user=audit_user, audit_from=audit_from, audit_to=audit_to,
        audit_filter=audit_filter, audit_note=audit_note, audit=audit, export=export,
        export_file=export_file)


def build_documents_tab(services: Services,
                        access: Access) -> tuple[Listing, list[gr.components.Component]]:
    """Returns how to fill the tab's lists and status, and the components they fill
    (the page fills them on load for admins)."""
    on = DocumentsHandlers(services, access)
    ui = _documents_layout(on.max_mb, on.collection_choices())
    shown = [ui.documents, ui.remove_file, ui.status, ui.audit, ui.documents_cards,
             ui.audit_cards]
    # the last run's note ("Choose … first") goes at once, not when this run ends
    ui.ingest_run.click(lambda: "", outputs=[ui.upload_note], queue=False, api_name=False)
    ui.ingest_run.click(on.ingest, inputs=[ui.files],
                        outputs=[ui.upload_note, ui.report, ui.report_cards, ui.files,
                                 *shown],
                        api_name="ingest_files", concurrency_limit=1,
                        # one progress display (the grid on a desk, the cards on a phone)
                        show_progress_on=[ui.report, ui.report_cards])
    ui.remove_run.click(on.ask_to_remove, inputs=[ui.remove_file],
                        outputs=[ui.remove_note, ui.confirm_remove], api_name=False)
    ui.confirm_remove.click(on.remove, inputs=[ui.remove_file],
                            outputs=[ui.remove_note, ui.confirm_remove, *shown], api_name=False)
    ui.audit_filter.click(on.filter_audit, inputs=[ui.audit_user, ui.audit_from, ui.audit_to],
                          outputs=[ui.audit_note, ui.audit, ui.audit_cards], api_name=False)
    ui.collection_run.click(on.set_collection, inputs=[ui.remove_file, ui.collection],
                            outputs=[ui.remove_note, *shown], api_name="set_collection")
    gr.api(on.remove_document, api_name="remove_document")
    ui.refresh.click(on.show, outputs=shown, api_name="documents")
    ui.export.click(on.export_audit, outputs=[ui.export_file], api_name="audit_export")
    return on.listing, shown
