"""Confirmed work orders on real components: they join the work-order history through a real
ingest (on-disk Chroma, the real embedding model, the records beside the manifest) without
losing or doubling one record, and an export to a read-only mount is refused by name with
nothing marked exported. ``services``: the work-order export of tests/integration/conftest.py,
ingested."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.records.users import Role, User
from app.records.work_orders import WorkOrderFields
from app.workorders.export import ExportError
from tests.conftest import tmpfs

OP, TECH = User("op", Role.OPERATOR), User("tech", Role.TECHNICIAN)


def confirm(services, asset: str, symptom: str, actions: str):  # type: ignore[no-untyped-def]
    desk = services.work_orders
    saved = desk.save(OP, None, None, 0, WorkOrderFields(asset, symptom, actions=actions))
    return desk.confirm(TECH, saved.order.id, saved.order.version, saved.order.fields)


def test_confirmed_work_orders_join_the_history_once_each(services) -> None:  # type: ignore[no-untyped-def]
    before = services.records.count()
    first = confirm(services, "QR0218", "aircon blowing warm air", "regassed the aircon")
    assert first.note == ""  # QR0218 is known; the history was written
    second = confirm(services, "PH639", "coolant level alarm again", "")
    assert services.records.count() == before + 2  # the export's 12 kept, each new one once
    *_, answered = services.assistant.answer("what has been done on QR0218 aircon?")
    history = answered.history
    ids = {m.order.record_id for m in history.matches}
    assert first.order.number in ids and {"WO-1", "WO-2", "WO-3", "WO-4"} <= ids
    found = next(m.order for m in history.matches if m.order.record_id == first.order.number)
    assert found.description == "QR0218 aircon blowing warm air Done: regassed the aircon"
    assert dict(found.fields)["source"] == "assistant" and found.asset == "QR0218"
    assert second.order.number in {o.record_id for o in services.records.for_asset("ph639")}
    # written again from the database: the same file, nothing indexed twice
    assert services.work_orders.publish().exit_code == 0
    assert services.records.count() == before + 2


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "cmms-share", "ro,size=1m") as folder:
        yield folder


def test_an_export_to_a_read_only_folder_is_refused_and_nothing_marked(  # type: ignore[no-untyped-def]
        services, read_only_mount: Path) -> None:
    order = confirm(services, "QR0218", "aircon blowing warm air", "").order
    services.settings.work_orders.export_dir = read_only_mount
    with pytest.raises(ExportError, match=f"The export folder {read_only_mount} is not "
                       "writable by the PlantOps service"):
        services.work_orders.export(TECH)
    assert services.work_orders.store.get(TECH, order.id).exported_at is None
    assert list(read_only_mount.iterdir()) == []
