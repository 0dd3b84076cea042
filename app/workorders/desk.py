"""The work-order rules in one place, for the page and the HTTP API alike: who drafts, edits,
confirms and exports; what each step checks; what the audit log keeps of it.

Operators (every role) draft from their own incidents; the roles ``work_orders.
confirm_roles`` names review, edit, confirm and export. A confirmed work order joins the
work-order history (``app.workorders.history``) and waits for the next export.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.records.audit import AuditEntry, AuditLog
from app.records.users import User
from app.records.work_orders import (
    DraftStore,
    WorkOrderDraft,
    WorkOrderError,
    WorkOrderFields,
    checked,
)
from app.settings import WorkOrderSettings
from app.workorders.drafting import AnsweredQuestion, asset_problem, draft_fields
from app.workorders.export import formats, write_export
from ingest.pipeline import IngestReport


@dataclass(frozen=True)
class Saved:
    order: WorkOrderDraft
    note: str = ""  # what the user should know: an asset no work order names, history not
    # updated


@dataclass(frozen=True)
class Exported:
    """What one export wrote: its files, and the work orders in them."""

    paths: list[Path]
    orders: list[WorkOrderDraft]

    @property
    def cited_files(self) -> frozenset[str]:
        """The documents the exported work orders quote (their evidence and safety notices):
        a reader barred from one of them is not handed the files."""
        return frozenset(c.file for o in self.orders
                         for c in (*o.fields.documents, *o.fields.safety))


@dataclass
class WorkOrderDesk:
    store: DraftStore
    settings: WorkOrderSettings
    audit: AuditLog
    # asset id (lower case) -> work orders naming it, of the files a reader who may not read
    # the given ones sees: no hint or list shows an id only hidden work orders carry
    known_assets: Callable[[frozenset[str]], Counter[str]]
    publish: Callable[[], IngestReport]  # confirmed work orders into the history
    default_export_dir: Path

    @property
    def export_dir(self) -> Path:
        return self.settings.export_dir or self.default_export_dir

    def may_confirm(self, user: User) -> bool:
        return self.store.may_confirm(user)

    def assets(self, hidden: frozenset[str] = frozenset()) -> list[str]:
        """The asset ids the work orders a reader may read carry, as written on a work order
        (upper case), most work orders first: the Asset field's choices."""
        return [a.upper() for a, _ in self.known_assets(hidden).most_common()]

    def propose(self, answers: Sequence[AnsweredQuestion], hidden: frozenset[str] = frozenset()
                ) -> tuple[WorkOrderFields, str]:
        """The draft an incident's record gives, and what is wrong with its asset (or "")."""
        known = self.known_assets(hidden)
        fields = draft_fields(answers, known)
        return fields, asset_problem(fields.asset, known) or ""

    def save(self, user: User, incident: int | None, number: int | None, version: int,
             fields: WorkOrderFields, hidden: frozenset[str] = frozenset()) -> Saved:
        """A new draft (``number`` None) or an edit of one the user may change."""
        fields = checked(fields, self.settings.priorities, self.settings.work_types)
        if number is None:
            order = self.store.create(user, incident, fields)
        else:
            order = self.store.edit(user, number, version, fields)
        self._audit(user, "wo-draft" if number is None else "wo-edit", order)
        return Saved(order, asset_problem(fields.asset, self.known_assets(hidden)) or "")

    def confirm(self, user: User, number: int, version: int,
                fields: WorkOrderFields, hidden: frozenset[str] = frozenset()) -> Saved:
        """Confirm (with the reviewer's edits); then the history is rewritten with it."""
        fields = checked(fields, self.settings.priorities, self.settings.work_types)
        order = self.store.confirm(user, number, version, fields)
        self._audit(user, "wo-confirm", order)
        report = self.publish()
        note = asset_problem(fields.asset, self.known_assets(hidden)) or ""
        if report.failed:
            reasons = "; ".join(f"{r.file}: {r.reason}" for r in report.failed)
            note = (f"Confirmed, but the work-order history was not updated ({reasons}). It "
                    "is written again on the next confirmation; an admin can ingest "
                    "it now.")
        return Saved(order, note)

    def export(self, user: User, numbers: Sequence[int] | None = None) -> Exported:
        """Write the confirmed work orders not yet exported (or ``numbers``) to the export
        folder; raises ExportError (the orders stay unexported) or WorkOrderError."""
        if not self.may_confirm(user):
            raise WorkOrderError(f"The {user.role} role does not export work orders: a "
                                 f"{' or '.join(sorted(self.settings.confirm_roles))} does.")
        confirmed = self.store.list(user, status="confirmed", limit=100_000)
        chosen = ([o for o in confirmed if o.id in set(numbers)] if numbers is not None
                  else [o for o in confirmed if o.exported_at is None])
        if not chosen:
            raise WorkOrderError("Nothing to export: no confirmed work order is waiting for "
                                 "the CMMS.")
        folder = self.export_dir
        if self.settings.export_dir is None:
            folder.mkdir(parents=True, exist_ok=True)  # the default; a set one must exist
        chosen.sort(key=lambda o: o.id)
        paths = write_export(chosen, folder, formats(self.settings.export_as,
                                                     self.settings.mappings))
        self.store.mark_exported([o.id for o in chosen])
        self.audit.record(AuditEntry(user=user.name, role=user.role, action="wo-export",
                                     question=", ".join(o.number for o in chosen),
                                     answer="; ".join(p.name for p in paths),
                                     status="exported"))
        return Exported(paths, chosen)

    def _audit(self, user: User, action: str, order: WorkOrderDraft) -> None:
        f = order.fields
        self.audit.record(AuditEntry(
            user=user.name, role=user.role, action=action, question=order.number,
            answer=f"{f.asset}: {f.symptom}" + (f" | actions: {f.actions}" if f.actions else ""),
            status=order.status, cited=list(dict.fromkeys(c.source for c in f.documents)),
            retrieved=[f"incident {order.incident}"] if order.incident else []))

