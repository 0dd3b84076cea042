"""Document collections on real components: on-disk Chroma, BM25, the real embedding model,
the records database. A reader gets nothing of a document in a collection that is not
theirs — no passage, work order, count, example code, or a not-found message that tells it
exists — and still gets their full top k from the documents they may read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.answer.answering import AnswerStatus
from app.answer.rendering import render_answer
from app.records.audit import AuditEntry
from app.records.collections import CollectionError
from app.records.users import Role, User
from app.records.work_orders import Cited, WorkOrderFields
from app.ui.access import Access
from app.ui.conversation import WITHDRAWN_ANSWER, with_withheld, withdrawn
from app.ui.handover import HandoverHandlers
from app.ui.work_orders import WorkOrderHandlers
from tests.conftest import make_services, make_settings

PRESS = """# Press brake PB-20 maintenance

## Daily checks

Check the hydraulic oil level of the press brake before the first shift. Top up with
ISO VG 46 hydraulic oil when the level is below the mark.

## Clutch

Inspect the clutch lining every 500 hours. Replace the lining when it is thinner than 3 mm.

## Guards

Never run the press brake with a guard removed. Lock out the main isolator first.
"""
SECRET = """# Valve block VX-7731 (proprietary drawing notes)

## Torque

Tighten the VX-7731 cover bolts to 42 Nm in a cross pattern. ALARM:77 means the cover
sensor of VX-7731 is open. ALARM:77 clears when the cover is closed. ALARM:77 is latched.

## Seals

Replace the VX-7731 seal kit every 2000 hours of hydraulic operation.
"""
SITE_A = """work_order_id,description,date
A-1,QR0218 replace blown track tension hose,2024-01-05
A-2,QR0218 repair air conditioner,2024-03-11
A-3,PB20 clutch lining worn replace,2024-04-02
"""
SITE_B = """work_order_id,description,date
B-1,ZX9001 hydraulic pump seal leak,2024-02-01
B-2,ZX9001 replace hydraulic pump,2024-05-05
B-3,ZX9001 hydraulic pump seal leak again,2024-09-09
"""
FLEET_GROUP = "cn=Fleet,ou=Groups,dc=plant,dc=example"
COLLECTIONS = {"drawings": {"roles": ["technician"]},
               "site-b": {"groups": [FLEET_GROUP.upper()]}}  # DN case does not matter
OPERATOR = User("op", Role.OPERATOR)
TECHNICIAN = User("tech", Role.TECHNICIAN)
FLEET_OPERATOR = User("fleet-op", Role.OPERATOR, frozenset({FLEET_GROUP.lower()}))
ADMIN = User("boss", Role.ADMIN)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, embedder):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("collections")
    docs = root / "docs"
    (docs / "drawings").mkdir(parents=True)
    (docs / "press_brake.md").write_text(PRESS)
    (docs / "drawings" / "valve_block.md").write_text(SECRET)
    (docs / "site_a.csv").write_text(SITE_A)
    (docs / "site_b.csv").write_text(SITE_B)
    services = make_services(make_settings(root / "data", collections=COLLECTIONS), embedder)
    services.collections.assign(["drawings/valve_block.md"], "drawings", by="test")
    services.collections.assign(["site_b.csv"], "site-b", by="test")
    report = services.ingestor.ingest([docs])
    assert report.exit_code == 0, report.failed
    return services


def hidden(services, user: User) -> frozenset[str]:  # type: ignore[no-untyped-def]
    return services.collections.hidden_from(user)


def test_each_user_is_hidden_the_collections_that_are_not_theirs(services) -> None:  # type: ignore[no-untyped-def]
    assert hidden(services, OPERATOR) == {"drawings/valve_block.md", "site_b.csv"}
    assert hidden(services, TECHNICIAN) == {"site_b.csv"}
    assert hidden(services, FLEET_OPERATOR) == {"drawings/valve_block.md"}
    assert hidden(services, ADMIN) == frozenset()


def test_a_reader_gets_no_passage_of_a_hidden_file_but_a_full_top_k(services) -> None:  # type: ignore[no-untyped-def]
    question = "VX-7731 cover bolt torque"
    everyone = services.retriever.retrieve(question, k=5)
    assert everyone[0].chunk.file == "drawings/valve_block.md"
    seen = services.retriever.for_reader(hidden(services, OPERATOR)).retrieve(question, k=5)
    files = {hit.chunk.file for hit in seen}
    assert files and not files & {"drawings/valve_block.md", "site_b.csv"}
    # the reader's k are all of files they may read (the forbidden ones did not take places)
    readable_units = {hit.chunk.unit for hit in services.retriever.retrieve(question, k=50)
                      if hit.chunk.file not in {"drawings/valve_block.md", "site_b.csv"}}
    assert len(seen) == min(5, len(readable_units))
    # a technician reads drawings
    mine = services.retriever.for_reader(hidden(services, TECHNICIAN)).retrieve(question, k=5)
    assert mine[0].chunk.file == "drawings/valve_block.md"


def test_when_forbidden_passages_fill_the_nearest_the_exact_filter_finds_readable_ones(  # type: ignore[no-untyped-def]
        services) -> None:
    """The reader's search asks Chroma for more nearest passages (2n, then 8n) without its
    (slow) file filter and keeps the readable ones; when forbidden ones fill those, it must run
    the filtered search rather than return fewer."""
    from ingest.contract import DocType
    from ingest.search import CandidateSearch

    vector = services.embedder.embed_query("VX-7731 cover bolt torque and seal kit")
    nearest = [h.chunk.file for h in services.index.query(vector, 8, DocType.MANUAL)]
    assert nearest[:2] == ["drawings/valve_block.md"] * 2  # the first two are forbidden
    reader = CandidateSearch(services.index, services.lexical, services.manifest,
                             hidden(services, OPERATOR))
    [hit] = reader._nearest(vector, 1, DocType.MANUAL, None)  # found among the first 8
    assert hit.chunk.file == "press_brake.md"
    reader.unfiltered_fetch = (2,)  # the first two only: then the filter must find it
    [hit] = reader._nearest(vector, 1, DocType.MANUAL, None)
    assert hit.chunk.file == "press_brake.md"


def test_filtering_by_a_hidden_file_finds_what_a_missing_file_finds(services) -> None:  # type: ignore[no-untyped-def]
    from ingest.search import SearchFilters

    reader = services.retriever.for_reader(hidden(services, OPERATOR))
    assert reader.retrieve("torque", k=5, filters=SearchFilters(
        file="drawings/valve_block.md")) == []
    assert reader.retrieve("torque", k=5, filters=SearchFilters(file="no_such.md")) == []


def test_the_not_found_answer_does_not_tell_that_a_hidden_document_exists(services) -> None:  # type: ignore[no-untyped-def]
    reader = services.assistant.for_reader(hidden(services, OPERATOR))

    def said(question: str) -> str:
        *_, final = reader.answer(question)
        assert final.status is AnswerStatus.ABSTAINED, render_answer(final)
        assert all(c.chunk.file not in hidden(services, OPERATOR) for c in final.citations)
        return render_answer(final).split("\n")[0]  # the closest pages differ by question

    hidden_id = said("What torque for the VX-7731 cover bolts?")
    missing_id = said("What torque for the VX-7739 cover bolts?")
    assert "do not mention VX-7739." in missing_id  # as written: not "7739, VX7739"
    assert hidden_id.replace("7731", "7739") == missing_id
    # the not-found rule sees the identifier as one the index does not hold, as for a
    # reader of an index without the document
    _, unknown = services.retriever.for_reader(hidden(services, OPERATOR)).evidence_features(
        "VX-7731 torque", [])
    _, unknown_to_admin = services.retriever.evidence_features("VX-7731 torque", [])
    assert unknown and not unknown_to_admin


def test_example_questions_name_no_code_of_a_hidden_document(services) -> None:  # type: ignore[no-untyped-def]
    assert "alarm:77" in services.retriever.frequent_codes(20)
    assert "alarm:77" not in services.retriever.for_reader(
        hidden(services, OPERATOR)).frequent_codes(20)


def test_work_order_history_lists_and_counts_only_readable_records(services) -> None:  # type: ignore[no-untyped-def]
    everyone = services.history.asset_history("ZX9001")
    assert len(everyone.matches) == 3
    finder = services.history.for_reader(hidden(services, TECHNICIAN))
    assert finder.asset_history("ZX9001").matches == []
    assert finder.matching("hydraulic pump seal leak").matches == []
    *_, final = services.assistant.for_reader(hidden(services, TECHNICIAN)).answer(
        "what has been done on ZX9001?")
    assert final.status is AnswerStatus.ABSTAINED and not final.citations
    *_, other = services.assistant.for_reader(hidden(services, TECHNICIAN)).answer(
        "what has been done on ZX9002?")
    assert render_answer(final).replace("ZX9001", "ZX9002") == render_answer(other)
    # a member of the fleet group reads site B's records, whatever their role
    fleet = services.history.for_reader(hidden(services, FLEET_OPERATOR))
    assert len(fleet.asset_history("ZX9001").matches) == 3


def test_a_change_of_collection_applies_at_the_next_question(services) -> None:  # type: ignore[no-untyped-def]
    question = "VX-7731 cover bolt torque"
    try:
        services.collections.assign(["drawings/valve_block.md"], None, by="test")
        assert services.retriever.for_reader(hidden(services, OPERATOR)).retrieve(
            question, k=1)[0].chunk.file == "drawings/valve_block.md"
    finally:
        services.collections.assign(["drawings/valve_block.md"], "drawings", by="test")
    assert "drawings/valve_block.md" in hidden(services, OPERATOR)


def test_an_unknown_collection_is_refused_and_a_removed_one_closes(services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CollectionError, match="no collection 'drawing' is defined"):
        services.collections.assign(["press_brake.md"], "drawing", by="test")
    assert "press_brake.md" not in hidden(services, OPERATOR)
    # a collection whose setting was removed: its files are read by admins only
    from app.records.collections import Collections

    without = Collections(services.database, {})
    assert {"drawings/valve_block.md", "site_b.csv"} <= without.hidden_from(TECHNICIAN)
    assert without.hidden_from(ADMIN) == frozenset()


def test_a_reopened_incident_withholds_answers_that_cited_a_withdrawn_file() -> None:
    stored = {
        "messages": [{"role": "user", "content": "VX-7731 torque?"},
                     {"role": "assistant", "content": "42 Nm [1]"},
                     {"role": "user", "content": "clutch lining?"},
                     {"role": "assistant", "content": "3 mm [1]"}],
        "answers": {"1": {"question": "VX-7731 torque?", "labels": ["[1] valve"],
                          "quotes": {"1": "42 Nm"}, "audit_row": 1,
                          "chunks": [{"file": "drawings/valve_block.md"}]},
                    "3": {"question": "clutch lining?", "labels": ["[1] press"],
                          "quotes": {}, "audit_row": 2,
                          "chunks": [{"file": "press_brake.md"}]}}}
    assert withdrawn(stored, frozenset()) == stored
    shown = withdrawn(stored, frozenset({"drawings/valve_block.md"}))
    assert [m["content"] for m in shown["messages"]] == [
        "VX-7731 torque?", WITHDRAWN_ANSWER, "clutch lining?", "3 mm [1]"]
    assert set(shown["answers"]) == {"3"}
    assert "42 Nm" not in str(shown)
    # saved again with a new answer, the incident keeps the withheld one as it was stored
    grown = {"messages": [*shown["messages"], {"role": "user", "content": "guards?"},
                          {"role": "assistant", "content": "lock out [1]"}],
             "answers": {**shown["answers"], "5": stored["answers"]["3"]}}
    saved = with_withheld(grown, lambda: stored)
    assert saved["messages"][1]["content"] == "42 Nm [1]"
    assert saved["answers"]["1"] == stored["answers"]["1"] and set(saved["answers"]) == {
        "1", "3", "5"}
    assert with_withheld(grown, lambda: None) == grown
    assert with_withheld(stored, lambda: 1 / 0) == stored  # nothing withheld: nothing read


def test_ingest_puts_a_folder_into_a_collection_before_it_is_searchable(  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    from tests.conftest import ROOT

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "valve_block.md").write_text(SECRET)
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(tmp_path / "data"),
           "PLANTOPS_COLLECTIONS": json.dumps(COLLECTIONS)}
    plantops = str(ROOT / ".venv/bin/plantops")
    refused = subprocess.run([plantops, "ingest", str(docs), "--collection", "drawing"],
                             env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "no collection 'drawing'" in refused.stderr
    assert "valve_block.md" not in subprocess.run(
        [plantops, "index", "stats", "--json"], env=env, capture_output=True, text=True).stdout
    done = subprocess.run([plantops, "ingest", str(docs), "--collection", "drawings"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([plantops, "collections", "list"], env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "drawings" in listed and "valve_block.md" in listed and "technician" in listed


def test_the_shift_handover_shows_a_reader_no_page_or_count_of_a_hidden_file(services) -> None:  # type: ignore[no-untyped-def]
    """A fleet operator's question answered from site B's work orders, in the handover a
    technician outside the fleet group reads on the page: the question stays (the asker's
    words), the records it cited and their count on record do not."""
    question = "ZX9001 pump seal leaking again, what was done last time?"
    services.audit.record(AuditEntry(  # as the Ask tab writes an answer that quoted B-1
        user="fleet-op", role="operator", action="ask", question=question,
        status="complete", cited=["site_b.csv, record B-1"],
        flags=["number 40 bar", "safety notice [1] site_b.csv, record B-1"]))
    for name, role in (("tech", Role.TECHNICIAN), ("boss", Role.ADMIN)):
        if services.users.get(name) is None:
            services.users.add(name, role, f"{name}-long-passphrase-1")
    access = Access(services.users, single_user=False, collections=services.collections)
    on = HandoverHandlers(services, access)
    seen, said = on.show("", "", "", SignedIn("tech"))
    assert said == "" and question in seen
    assert "site_b" not in seen and "B-1" not in seen and "40 bar" not in seen
    assert "1 document page you may not read" in seen
    assert "the notice of a document you may not read" in seen
    assert "ZX9001:" not in seen  # no asset line counting its hidden work orders
    # an admin reads every collection: the same shift whole
    whole, _ = on.show("", "", "", SignedIn("boss"))
    assert "site_b.csv" in whole and "ZX9001: asked 1 time this shift; 3 work orders" in whole


@dataclass
class SignedIn:
    """What the handlers read of gr.Request."""

    username: str


def test_an_export_quoting_a_hidden_document_is_written_but_not_handed_to_that_reader(  # type: ignore[no-untyped-def]
        services) -> None:
    """The CMMS gets every work order whole; a technician outside site B's collection who
    exports one quoting site B's records gets no download of the files, only their names."""
    for name, role in (("op", Role.OPERATOR), ("tech", Role.TECHNICIAN)):
        if services.users.get(name) is None:
            services.users.add(name, role, f"{name}-long-passphrase-1")
    desk = services.work_orders
    on = WorkOrderHandlers(services, Access(services.users, single_user=False,
                                            collections=services.collections))

    def confirmed_quoting(source: str, file: str) -> None:
        draft = desk.save(OPERATOR, None, None, 0, WorkOrderFields(
            "ZX9001", "pump seal leaking", documents=(Cited("seal leak", source, file),)))
        desk.confirm(TECHNICIAN, draft.order.id, draft.order.version, draft.order.fields)

    confirmed_quoting("site_b.csv, record B-1", "site_b.csv")
    note = on.export(None, SignedIn("tech"))[-2]
    assert "Exported to" in note and "not offered for download" in note
    assert "/plantops/file/" not in note
    written = sorted((services.settings.data_dir / "exports" / "work-orders").glob("*.csv"))
    assert written and "seal leak" in written[-1].read_text(encoding="utf-8")  # whole
    confirmed_quoting("press_brake.md, page 1", "press_brake.md")
    note = on.export(None, SignedIn("tech"))[-2]
    assert "/plantops/file/" in note and "not offered" not in note
