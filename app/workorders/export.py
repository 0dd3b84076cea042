"""Confirmed work orders as files the plant's CMMS imports: CSV and JSON per format, written
to a folder. Nothing is sent anywhere: the CMMS's own import job (or a person with a USB
stick) takes the files across.

Each format is a mapping of the CMMS's column names to the fields of the export schema
(``app.settings.WORK_ORDER_FIELDS``, docs/admin.md): presets for IBM Maximo work orders and
SAP PM notifications, and the plant's own in ``work_orders.mappings``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.records.audit import defused
from app.records.work_orders import WorkOrderDraft
from app.settings import WORK_ORDER_PRESETS

SOURCE = "assistant"


class ExportError(RuntimeError):
    """The export folder cannot be written; the message names it and what to do."""


def _iso(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch else ""


def record(order: WorkOrderDraft) -> dict[str, str]:
    """Every field of the export schema for one work order, as text."""
    f = order.fields
    documents = "\n".join(f"“{c.text}” ({c.source})" for c in f.documents)
    safety = "\n".join(f"“{c.text}” ({c.source})" for c in f.safety)
    long_text = "\n\n".join(part for part in (
        f"Symptom: {f.symptom}",
        f"Fault codes: {'; '.join(f.codes)}" if f.codes else "",
        f"The documents say:\n{documents}" if documents else "",
        f"Safety notices:\n{safety}" if safety else "",
        f"Actions already taken: {f.actions}" if f.actions else "",
        f"Drafted by {order.author} with PlantOps Assistant ({order.number}).") if part)
    return {
        "number": order.number, "asset": f.asset, "title": f.title,
        "symptom": f.symptom, "codes": "; ".join(f.codes), "documents": documents,
        "citations": "; ".join(dict.fromkeys(c.source for c in f.documents)),
        "safety": safety, "actions": f.actions, "long_text": long_text,
        "priority": f.priority, "work_type": f.work_type, "drafted_by": order.author,
        "drafted_at": _iso(order.created),
        "drafted_date": time.strftime("%Y%m%d", time.gmtime(order.created)),
        "confirmed_by": order.confirmed_by or "", "confirmed_at": _iso(order.confirmed_at),
        "incident": str(order.incident or ""), "source": SOURCE}


def mapped(row: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, str]:
    """One export row in a format: each column its field's value, or its constant."""
    return {column: source.removeprefix("const:") if source.startswith("const:")
            else row[source] for column, source in mapping.items()}


def formats(names: Sequence[str], plant: Mapping[str, Mapping[str, str]]
            ) -> dict[str, Mapping[str, str]]:
    """The mappings of the formats ``names`` (presets, or the plant's own; checked when the
    settings were read)."""
    return {name: plant.get(name) or WORK_ORDER_PRESETS[name] for name in names}


def write_export(orders: Sequence[WorkOrderDraft], folder: Path,
                 chosen: Mapping[str, Mapping[str, str]]) -> list[Path]:
    """``orders`` as ``work-orders-<format>-<UTC time>.csv`` and ``.json`` per format in
    ``folder``; each file appears whole or not at all (written aside, then renamed). Raises
    ExportError when the folder is missing or not writable: the orders stay as they were."""
    if not folder.is_dir():
        raise ExportError(f"The export folder {folder} does not exist: create it (or set "
                          "work_orders.export_dir), then export again. The work orders are "
                          "kept, not exported.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"The export folder {folder} is not writable by the PlantOps "
                          "service: give it write access, then export again. The work orders "
                          "are kept, not exported.")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows = [record(o) for o in orders]
    written = []
    for name, mapping in chosen.items():
        table = [mapped(r, mapping) for r in rows]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(mapping), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(defused(r) for r in table)
        base = folder / f"work-orders-{name}-{stamp}"
        for path, body in ((base.with_suffix(".csv"), text.getvalue()),
                           (base.with_suffix(".json"),
                            json.dumps(table, ensure_ascii=False, indent=2) + "\n")):
            _write_whole(path, body)
            written.append(path)
    return written


def _write_whole(path: Path, body: str) -> None:
    aside = None
    try:
        handle, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(body)
        os.replace(aside, path)
    except OSError as exc:
        if aside is not None:
            Path(aside).unlink(missing_ok=True)
        raise ExportError(f"Writing {path} failed: {exc.strerror or exc}. Free space or fix "
                          "the folder's rights, then export again; the work orders are kept, "
                          "not exported.") from exc
