"""Work orders from incidents (app.records.work_orders, app.workorders): a draft holds what
the incident showed, each user sees and changes only what their role allows, two
confirmations of one draft find one winner, and the export carries the fields the CMMS
presets name, as text a spreadsheet will not run."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.records.audit import AuditLog
from app.records.database import Database
from app.records.users import Role, User
from app.records.work_orders import (
    Cited,
    DraftStore,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderFields,
    checked,
)
from app.settings import WORK_ORDER_PRESETS, Settings, WorkOrderSettings
from app.workorders.desk import WorkOrderDesk
from app.workorders.drafting import AnsweredQuestion, asset_problem, draft_fields
from app.workorders.export import ExportError, formats, record, write_export
from app.workorders.history import history_csv
from ingest.pipeline import IngestReport
from ingest.records import Snapshot, WorkOrder

OP, OP2 = User("op", Role.OPERATOR), User("op2", Role.OPERATOR)
TECH, TECH2 = User("tech", Role.TECHNICIAN), User("tech2", Role.TECHNICIAN)
KNOWN = Counter({"ph639": 12, "ph693": 1, "qr0218": 40})
GRBL = "grbl_alarm_and_error_codes.pdf"


def incident() -> list[AnsweredQuestion]:
    return [
        AnsweredQuestion("PH639 shows ALARM:1 and E15 after the door was opened",
                         [Cited("Hard limit has been triggered.", "grbl.pdf, page 1", GRBL)],
                         [Cited("WARNING: lock out the machine before reaching in.",
                                "osha.pdf, page 23", "osha.pdf")]),
        AnsweredQuestion("still alarm 1 on ph639, what next?",
                         [Cited("Hard limit has been triggered.", "grbl.pdf, page 1", GRBL),
                          Cited("Re-home the machine.", "grbl.pdf, page 2", GRBL)])]


def test_a_draft_holds_what_the_incident_showed() -> None:
    fields = draft_fields(incident(), KNOWN)
    assert fields.asset == "PH639"  # "E15" is error 15 here, not an asset
    assert fields.symptom == "PH639 shows ALARM:1 and E15 after the door was opened"
    assert fields.codes == ("ALARM:1", "ERROR:15")
    assert [c.text for c in fields.documents] == ["Hard limit has been triggered.",
                                                  "Re-home the machine."]  # once each
    assert [c.source for c in fields.safety] == ["osha.pdf, page 23"]
    assert fields.actions == "" and fields.priority == ""  # the operator's to type


def test_an_unknown_asset_is_said_with_the_closest_known_ids() -> None:
    assert asset_problem("PH639", KNOWN) is None and asset_problem("ph-639", KNOWN) is None
    said = asset_problem("PH6390", KNOWN)
    assert said is not None and said.startswith("No work order names the asset PH6390.")
    assert "Closest known: PH639, PH693" in said
    assert "No known id is close" in str(asset_problem("ZZ1", KNOWN))
    assert "names none" in str(asset_problem("", KNOWN))


def test_empty_symptom_and_unlisted_priority_are_refused_by_name() -> None:
    with pytest.raises(WorkOrderError, match="The symptom is empty"):
        checked(WorkOrderFields("PH639", "   "), ["high"], ["corrective"])
    with pytest.raises(WorkOrderError, match="No asset"):
        checked(WorkOrderFields(" ", "leaks"), ["high"], ["corrective"])
    with pytest.raises(WorkOrderError, match="Priority “urgent” is not one of this plant's: "
                       "high"):
        checked(WorkOrderFields("PH639", "leaks", priority="urgent"), ["high"], ["corrective"])
    assert checked(WorkOrderFields(" ph639 ", " oil  leak "), ["high"], []).asset == "PH639"


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    return DraftStore(Database.in_file(tmp_path / "records.sqlite3"))


def test_each_role_sees_and_changes_only_what_it_may(store: DraftStore) -> None:
    mine = store.create(OP, 7, draft_fields(incident(), KNOWN))
    assert store.get(OP2, mine.id) is None and store.list(OP2) == []  # another operator's
    assert [o.id for o in store.list(OP)] == [mine.id]
    assert store.get(TECH, mine.id) is not None  # a technician confirms: sees every draft
    with pytest.raises(WorkOrderError, match="not among those you may see"):
        store.edit(OP2, mine.id, mine.version, mine.fields)
    with pytest.raises(WorkOrderError, match="The operator role does not confirm"):
        store.confirm(OP, mine.id, mine.version, mine.fields)
    # an edit cannot change the evidence: the quotes stay as the incident showed them
    edited = store.edit(OP, mine.id, mine.version, WorkOrderFields(
        "PH639", "door alarm", documents=(Cited("made up", "nowhere"),), actions="reset"))
    assert edited.version == 2 and edited.fields.actions == "reset"
    assert edited.fields.documents == mine.fields.documents
    with pytest.raises(WorkOrderConflict, match="changed by someone else"):
        store.edit(OP, mine.id, mine.version, mine.fields)  # written on version 1


def test_two_confirmations_at_once_find_one_winner(store: DraftStore) -> None:
    draft = store.create(OP, None, WorkOrderFields("PH639", "door alarm"))
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def confirm(user: User) -> None:
        start.wait()
        try:
            outcomes[user.name] = store.confirm(user, draft.id, draft.version, draft.fields)
        except WorkOrderConflict as exc:
            outcomes[user.name] = exc

    threads = [threading.Thread(target=confirm, args=(u,)) for u in (TECH, TECH2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = [v for v in outcomes.values() if isinstance(v, WorkOrderConflict)]
    won = [v for v in outcomes.values() if not isinstance(v, WorkOrderConflict)]
    assert len(lost) == 1 and len(won) == 1
    winner = store.get(TECH, draft.id)
    assert winner is not None and winner.confirmed and winner.version == 2
    assert f"was confirmed by {winner.confirmed_by} at" in str(lost[0])
    assert "your changes were not saved" in str(lost[0])


def confirmed(store: DraftStore) -> list:  # type: ignore[type-arg]
    draft = store.create(OP, 3, WorkOrderFields(
        "PH639", "=HYPERLINK(\"http://x\") door alarm", ("ALARM:1",),
        (Cited("Hard limit has been triggered.", "grbl.pdf, page 1", GRBL),),
        (Cited("WARNING: lock out.", "osha.pdf, page 23", "osha.pdf"),), "reset the alarm",
        "2 high", "corrective"))
    return [store.confirm(TECH, draft.id, draft.version, draft.fields)]


def test_the_export_carries_the_preset_fields_as_text(store: DraftStore,
                                                      tmp_path: Path) -> None:
    orders = confirmed(store)
    row = record(orders[0])
    assert row["number"] == "PO-WO-00001" and row["confirmed_by"] == "tech"
    assert "Hard limit has been triggered.” (grbl.pdf, page 1)" in row["long_text"]
    assert "Actions already taken: reset the alarm" in row["long_text"]
    paths = write_export(orders, tmp_path, formats(["plantops", "maximo", "sap_pm"], {}))
    assert sorted(p.suffix for p in paths) == [".csv"] * 3 + [".json"] * 3
    by_name = {p.name.split("-")[2]: p for p in paths if p.suffix == ".csv"}
    maximo = next(csv.DictReader(by_name["maximo"].open(encoding="utf-8")))
    assert list(maximo) == list(WORK_ORDER_PRESETS["maximo"])
    assert maximo["ASSETNUM"] == "PH639" and maximo["WOPRIORITY"] == "2 high"
    assert maximo["STATUS"] == "WAPPR" and maximo["WONUM"] == "PO-WO-00001"
    sap = json.loads(by_name["sap_pm"].with_suffix(".json").read_text(encoding="utf-8"))[0]
    assert sap["NOTIF_TYPE"] == "M1" and sap["EQUIPMENT"] == "PH639"
    ours = next(csv.DictReader(by_name["plantops"].open(encoding="utf-8")))
    assert ours["symptom"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    # JSON keeps the text as typed: no spreadsheet opens it
    assert json.loads(by_name["plantops"].with_suffix(".json").read_text())[0][
        "symptom"].startswith("=HYPERLINK")


def test_a_missing_export_folder_is_said_and_nothing_is_marked_exported(
        store: DraftStore, tmp_path: Path) -> None:
    orders = confirmed(store)
    missing = tmp_path / "usb-stick"
    desk = WorkOrderDesk(store, WorkOrderSettings(export_dir=missing),
                         AuditLog(store.db), lambda hidden: KNOWN, IngestReport,
                         tmp_path / "default")
    with pytest.raises(ExportError, match=f"The export folder {missing} does not exist: "
                       "create it"):
        desk.export(TECH)
    assert store.get(TECH, orders[0].id).exported_at is None  # type: ignore[union-attr]
    with pytest.raises(WorkOrderError, match="The operator role does not export"):
        desk.export(OP)
    missing.mkdir()
    exported = desk.export(TECH)
    assert len(exported.paths) == 2 and len(exported.orders) == len(orders)
    with pytest.raises(WorkOrderError, match="Nothing to export"):
        desk.export(TECH)  # each work order goes once


def test_a_mapping_naming_an_unknown_field_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="column 'Asset' names the field 'assset'"):
        Settings(work_orders={"mappings": {"fiix": {"Asset": "assset"}}})
    with pytest.raises(ValidationError, match="export_as names 'fiix'"):
        Settings(work_orders={"export_as": ["fiix"]})
    plant = Settings(work_orders={"mappings": {"fiix": {"Asset": "asset", "Site": "const:B2"}},
                                  "export_as": ["fiix"]}).work_orders
    assert formats(plant.export_as, plant.mappings) == {"fiix": {"Asset": "asset",
                                                                 "Site": "const:B2"}}


def test_the_history_file_names_the_asset_and_what_was_done(store: DraftStore) -> None:
    rows = list(csv.DictReader(history_csv(confirmed(store)).splitlines()))
    assert rows[0]["work_order_id"] == "PO-WO-00001" and rows[0]["source"] == "assistant"
    assert rows[0]["description"].endswith("door alarm Done: reset the alarm")


def test_the_asset_choices_are_the_ids_of_the_work_orders_the_reader_may_read(
        store: DraftStore, tmp_path: Path) -> None:
    orders = [WorkOrder("plant-a.csv", "1", "PH639 leak", assets=("ph639",)),
              WorkOrder("plant-a.csv", "2", "PH639 noise", assets=("ph639",)),
              WorkOrder("secret.csv", "3", "XK9760 door", assets=("xk9760",))]
    snapshot = Snapshot("v1", orders)
    desk = WorkOrderDesk(store, WorkOrderSettings(), AuditLog(store.db),
                         snapshot.assets_outside, IngestReport, tmp_path)
    assert desk.assets() == ["PH639", "XK9760"]  # most work orders first
    hidden = frozenset({"secret.csv"})
    assert desk.assets(hidden) == ["PH639"]
    # nor does the hint name an id only a hidden file carries
    saved = desk.save(OP, None, None, 0, WorkOrderFields("XK9761", "door will not shut"), hidden)
    assert "XK9760" not in saved.note and "No known id is close" in saved.note
    assert "Closest known: XK9760" in desk.save(
        OP, None, None, 0, WorkOrderFields("XK9761", "door will not shut")).note
