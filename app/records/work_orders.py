"""Work orders drafted from incidents, kept in the records database until the CMMS has them.

An operator drafts one from an incident; a technician (the roles ``work_orders.confirm_roles``
names) reviews, edits and confirms it. Every change goes through ``version``: an edit or a
confirmation names the version it was made on, and the row changes only if it still is that
one, so two technicians confirming one draft at once find one winner and the other is told
who confirmed it (a compare-and-set in one UPDATE, on SQLite and PostgreSQL alike).

Who sees what is decided here, for the page and the HTTP API alike: an operator sees the
drafts they wrote; a role that confirms sees every draft.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import insert, select, update

from app.records.database import Database, work_orders
from app.records.users import User

DRAFT = "draft"
CONFIRMED = "confirmed"
NUMBER_PREFIX = "PO-WO-"


class WorkOrderError(ValueError):
    """A draft that cannot be saved, edited or confirmed; the message says why and what to
    do next."""


class WorkOrderConflict(WorkOrderError):
    """The draft changed (or was confirmed) since the caller read it."""


@dataclass(frozen=True)
class Cited:
    """A sentence from the documents (verbatim) with the source it was quoted from."""

    text: str
    source: str  # the citation label the answer showed: "grbl.pdf p. 3 · Alarm codes"
    file: str = ""  # the document it is from: a reader who may not read it is not shown it


@dataclass(frozen=True)
class WorkOrderFields:
    """What a work order says; everything but ``actions``, ``priority`` and ``work_type`` is
    taken from the incident's record when drafted, and may be corrected before confirming."""

    asset: str
    symptom: str  # the operator's words
    codes: tuple[str, ...] = ()  # fault codes named in the incident: "ALARM:1"
    documents: tuple[Cited, ...] = ()  # what the cited pages say, quoted
    safety: tuple[Cited, ...] = ()  # safety notices the answers showed, verbatim
    actions: str = ""  # actions already taken, typed by the operator
    priority: str = ""
    work_type: str = ""

    @property
    def title(self) -> str:
        """Asset and symptom on one line, the asset once: "PH639 door alarm after reset"."""
        named = self.asset and self.asset.lower().replace("-", "") in \
            self.symptom.lower().replace("-", "")
        return self.symptom if named or not self.asset else f"{self.asset} {self.symptom}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, body: str) -> WorkOrderFields:
        data: dict[str, Any] = json.loads(body)
        return cls(**{**data, "codes": tuple(data.get("codes", ())),
                      "documents": tuple(Cited(**c) for c in data.get("documents", ())),
                      "safety": tuple(Cited(**c) for c in data.get("safety", ()))})


@dataclass(frozen=True)
class WorkOrderDraft:
    id: int
    incident: int | None
    author: str
    created: float
    updated: float
    status: str  # draft | confirmed
    version: int
    fields: WorkOrderFields
    confirmed_by: str | None = None
    confirmed_at: float | None = None
    exported_at: float | None = None

    @property
    def number(self) -> str:
        """The number it carries into the work-order history and the CMMS export."""
        return f"{NUMBER_PREFIX}{self.id:05d}"

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED


def checked(fields: WorkOrderFields, priorities: Sequence[str],
            work_types: Sequence[str]) -> WorkOrderFields:
    """``fields`` with the text trimmed, or WorkOrderError saying what is missing."""
    fields = replace(fields, asset=fields.asset.strip().upper(),
                     symptom=" ".join(fields.symptom.split()), actions=fields.actions.strip())
    if not fields.asset:
        raise WorkOrderError("No asset: name the machine the work is on (its asset id, as "
                             "the work orders write it, e.g. PH639).")
    if not fields.symptom:
        raise WorkOrderError("The symptom is empty: say in a few words what the machine does "
                             "wrong, as you saw it.")
    if fields.priority and fields.priority not in priorities:
        raise WorkOrderError(f"Priority “{fields.priority}” is not one of this plant's: "
                             f"{', '.join(priorities)}.")
    if fields.work_type and fields.work_type not in work_types:
        raise WorkOrderError(f"Work type “{fields.work_type}” is not one of this plant's: "
                             f"{', '.join(work_types)}.")
    return fields


@dataclass
class DraftStore:
    """The drafts and confirmed work orders; ``confirmers`` are the roles that confirm (and
    so see every draft)."""

    db: Database
    confirmers: Collection[str] = field(default_factory=lambda: ("technician", "admin"))

    def may_confirm(self, user: User) -> bool:
        return str(user.role) in self.confirmers

    def create(self, author: User, incident: int | None,
               fields: WorkOrderFields) -> WorkOrderDraft:
        now = time.time()
        with self.db.begin() as db:
            created = db.execute(insert(work_orders).values(
                incident=incident, author=author.name, created=now, updated=now, status=DRAFT,
                version=1, body=fields.to_json()).returning(work_orders.c.id))
            number = int(created.scalar_one())
        return WorkOrderDraft(number, incident, author.name, now, now, DRAFT, 1, fields)

    def get(self, reader: User, number: int) -> WorkOrderDraft | None:
        """The work order if ``reader`` may see it (theirs, or they confirm); else None."""
        query = select(work_orders).where(work_orders.c.id == number)
        if not self.may_confirm(reader):
            query = query.where(work_orders.c.author == reader.name)
        with self.db.begin() as db:
            row = db.execute(query).mappings().first()
        return _draft(row) if row is not None else None

    def list(self, reader: User, status: str | None = None,
             limit: int = 200) -> list[WorkOrderDraft]:
        """What ``reader`` may see, the latest change first."""
        query = select(work_orders).order_by(work_orders.c.updated.desc(),
                                             work_orders.c.id.desc()).limit(limit)
        if not self.may_confirm(reader):
            query = query.where(work_orders.c.author == reader.name)
        if status is not None:
            query = query.where(work_orders.c.status == status)
        with self.db.begin() as db:
            return [_draft(r) for r in db.execute(query).mappings().all()]

    def confirmed_between(self, start: float, end: float) -> list[WorkOrderDraft]:
        """Every work order confirmed in [start, end), oldest first (the shift handover)."""
        return self._between(work_orders.c.confirmed_at, start, end)

    def drafted_between(self, start: float, end: float) -> list[WorkOrderDraft]:
        """Every work order drafted in [start, end), oldest first."""
        return self._between(work_orders.c.created, start, end)

    def _between(self, column: Any, start: float, end: float) -> list[WorkOrderDraft]:
        with self.db.begin() as db:
            rows = db.execute(select(work_orders).where(column >= start, column < end)
                              .order_by(column, work_orders.c.id)).mappings().all()
        return [_draft(r) for r in rows]

    def all_confirmed(self) -> list[WorkOrderDraft]:
        """Every confirmed work order, in the order they were confirmed."""
        with self.db.begin() as db:
            rows = db.execute(select(work_orders).where(work_orders.c.status == CONFIRMED)
                              .order_by(work_orders.c.confirmed_at, work_orders.c.id)
                              ).mappings().all()
        return [_draft(r) for r in rows]

    def edit(self, editor: User, number: int, version: int,
             fields: WorkOrderFields) -> WorkOrderDraft:
        """Save ``fields`` over the draft, if it is still at ``version`` and ``editor`` may
        change it (its author, or a role that confirms)."""
        return self._change(editor, number, version, fields, confirm=False)

    def confirm(self, confirmer: User, number: int, version: int,
                fields: WorkOrderFields) -> WorkOrderDraft:
        """Save ``fields`` and confirm, in one change: one of two confirmations at once wins,
        the other is told who confirmed it."""
        if not self.may_confirm(confirmer):
            raise WorkOrderError(f"The {confirmer.role} role does not confirm work orders: a "
                                 f"{' or '.join(sorted(self.confirmers))} does.")
        return self._change(confirmer, number, version, fields, confirm=True)

    def _change(self, user: User, number: int, version: int, fields: WorkOrderFields,
                confirm: bool) -> WorkOrderDraft:
        current = self.get(user, number)
        if current is None:
            raise WorkOrderError(f"Work order {NUMBER_PREFIX}{number:05d} is not among those "
                                 "you may see.")
        # the quotes and notices are the incident's evidence: kept as drafted, whatever is sent
        fields = replace(fields, documents=current.fields.documents,
                         safety=current.fields.safety)
        now = time.time()
        values: dict[str, Any] = {"body": fields.to_json(), "updated": now,
                                  "version": work_orders.c.version + 1}
        if confirm:
            values |= {"status": CONFIRMED, "confirmed_by": user.name, "confirmed_at": now}
        with self.db.begin() as db:
            changed = db.execute(update(work_orders).where(
                work_orders.c.id == number, work_orders.c.version == version,
                work_orders.c.status == DRAFT).values(**values)).rowcount
        if not changed:
            raise self._conflict(user, number)
        found = self.get(user, number)
        assert found is not None
        return found

    def _conflict(self, user: User, number: int) -> WorkOrderConflict:
        now = self.get(user, number)
        name = f"{NUMBER_PREFIX}{number:05d}"
        if now is not None and now.confirmed:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(now.confirmed_at or 0))
            return WorkOrderConflict(f"{name} was confirmed by {now.confirmed_by} at {when} "
                                     "UTC; your changes were not saved. Open it again to see "
                                     "what was confirmed.")
        return WorkOrderConflict(f"{name} was changed by someone else since you opened it; "
                                 "your changes were not saved. Open it again, then edit.")

    def mark_exported(self, numbers: Sequence[int]) -> None:
        with self.db.begin() as db:
            db.execute(update(work_orders).where(work_orders.c.id.in_(list(numbers)))
                       .values(exported_at=time.time()))


def _draft(row: Any) -> WorkOrderDraft:
    return WorkOrderDraft(int(row["id"]), row["incident"], row["author"], row["created"],
                          row["updated"], row["status"], int(row["version"]),
                          WorkOrderFields.from_json(row["body"]), row["confirmed_by"],
                          row["confirmed_at"], row["exported_at"])
