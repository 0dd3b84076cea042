"""Confirmed work orders join the plant's work-order history: written as one CSV export of
source "assistant" and ingested like any other, so that the next "has this happened before
on PH639?" lists them beside the CMMS's own.

The file is written whole from the records database on every confirmation (the database is
the truth; the file is rebuilt, never appended to), so a confirmation on any replica, or a
retry after a failed ingest, leaves the same file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.records.audit import defused
from app.records.work_orders import WorkOrderDraft
from ingest.manifest import Manifest
from ingest.pipeline import Ingestor, IngestReport

HISTORY_FILE = "assistant-work-orders.csv"
COLUMNS = ("work_order_id", "date", "description", "source", "fault_codes", "priority",
           "work_type", "confirmed_by", "incident")


def description(order: WorkOrderDraft) -> str:
    """What the history matches and shows: asset, symptom and what was done, in words."""
    f = order.fields
    done = f" Done: {f.actions}" if f.actions else ""
    return f"{f.title}{done}"


def history_csv(orders: Sequence[WorkOrderDraft]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(defused({
        "work_order_id": o.number,
        "date": time.strftime("%Y-%m-%d", time.gmtime(o.confirmed_at or o.created)),
        "description": description(o), "source": "assistant",
        "fault_codes": "; ".join(o.fields.codes), "priority": o.fields.priority,
        "work_type": o.fields.work_type, "confirmed_by": o.confirmed_by or "",
        "incident": o.incident or ""}) for o in orders)
    return text.getvalue()


def publish(confirmed: Callable[[], Sequence[WorkOrderDraft]], folder: Path,
            ingestor: Ingestor, manifest: Manifest, tries: int = 3) -> IngestReport:
    """Write every confirmed work order to ``folder/assistant-work-orders.csv`` (whole, then
    renamed into place) and ingest it, until the indexed version holds every one the
    database holds: two replicas confirming at once may each write the file, and the one
    that writes last may have read the database first; the check after its ingest sees the
    other's work order missing and writes again. A failed ingest is in the report (the work
    orders stay confirmed in the database; the next confirmation writes them all again)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HISTORY_FILE
    report = IngestReport()
    for _ in range(tries):
        body = history_csv(confirmed()).encode("utf-8")
        aside = path.with_name(f".{HISTORY_FILE}.{os.getpid()}.{threading.get_ident()}")
        aside.write_bytes(body)
        os.replace(aside, path)
        report = ingestor.ingest([path])
        entry = manifest.get(HISTORY_FILE)
        if report.failed or (entry is not None and entry.sha256 ==
                             hashlib.sha256(history_csv(confirmed()).encode()).hexdigest()):
            break
    return report
