"""Work-order history on real components: ingest into on-disk Chroma with the real embedding
model, the rows beside the manifest, questions answered from them, the CLI."""

import json
import subprocess

from app.answer.answering import NOT_FOUND, AnswerStatus
from app.answer.rendering import render_answer
from ingest.records import WorkOrder
from tests.conftest import ROOT, make_services
from tests.integration.conftest import WORK_ORDERS


def answer(services, question: str):  # type: ignore[no-untyped-def]
    *_, final = services.assistant.answer(question)
    return final


def records(services, table: str = "work_orders") -> int:  # type: ignore[no-untyped-def]
    return services.records._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_each_work_order_is_kept_as_a_row_in_full_words(services) -> None:  # type: ignore[no-untyped-def]
    orders = {o.record_id: o for o in services.records.snapshot().orders}
    assert len(orders) == 12
    compressor = orders["WO-2"]
    assert compressor.assets == ("qr0218",)
    assert compressor.date == "2024-03-11"
    assert compressor.description == "QR0218- C/O No2 A/C compressor"  # as written
    assert "change out" in compressor.normalised and "air conditioner" in compressor.normalised
    assert compressor.action == "replace"
    assert orders["WO-4"].symptom == "leak"


def test_a_history_question_lists_every_matching_work_order_of_the_asset(services) -> None:  # type: ignore[no-untyped-def]
    final = answer(services, "QR0218 aircon keeps crapping out, whats been done on it")
    assert final.status is AnswerStatus.COMPLETE
    listed = {m.order.record_id for m in final.history.matches}
    assert listed == {"WO-1", "WO-2", "WO-3", "WO-4"}  # "A/C", "air con", "Aircon": all four
    assert [c.chunk.record_id for c in final.citations] == ["WO-4", "WO-3", "WO-2", "WO-1"]
    shown = render_answer(final, 1)
    assert "**4 work orders** on QR0218" in shown
    assert "From 2024-01-05 to 2025-02-02" in shown
    assert "(#cite-1-4)" in shown  # every row opens its work order


def test_a_count_question_gets_the_exact_number_across_assets(services) -> None:  # type: ignore[no-untyped-def]
    final = answer(services, "How many times has a machine needed a jumpstart?")
    assert final.history.count == 3
    assert dict(final.history.per_asset()) == {"PH639": 1, "AN426": 1, "(no asset id)": 1}
    assert "**3 work orders**" in render_answer(final)


def test_either_word_of_an_or_will_do(services) -> None:  # type: ignore[no-untyped-def]
    history = services.history
    question = history.recognise("park brake door alarm faulty or repaired - seen before?")
    assert ("faulty", "repaired") in question.alternatives
    found = history.find(question)
    words = {m.order.record_id for m in found.matches if m.how == "words"}
    assert words == {"WO-10", "WO-11"} and not found.weak  # not both words in one order


def test_not_working_asks_for_the_things_jobs_however_they_say_its_fault(services) -> None:  # type: ignore[no-untyped-def]
    # Issue 29, dev033: "windscreen washer not working - which work orders" was "matched by
    # meaning only" (marked weak) because no order said "not working"; they say "don't work",
    # "u/s", "broken", or only what was done ("Repair Park Brake Door Alarm").
    found = answer(services, "park brake door alarm not working - which work orders?").history
    assert {m.order.record_id for m in found.matches if m.how == "words"} == {"WO-10", "WO-11"}
    assert not found.by_meaning_only and not found.weak


def test_a_list_matched_by_meaning_alone_says_so(services) -> None:  # type: ignore[no-untyped-def]
    # each word is in some work order ("coolant" WO-9, "leaking" WO-4, "compressor" WO-2),
    # none holds them all: the list is only the closest in meaning, and must say so
    final = answer(services, "coolant leaking at the compressor - any work orders?")
    assert final.history.matches and final.history.by_meaning_only
    assert final.weak and "Matched by meaning only" in final.notice
    assert "⚠️ **Matched by meaning only" in render_answer(final)
    assert not answer(services, "QR0218 aircon history").history.by_meaning_only


def test_a_count_that_is_only_a_lower_bound_says_at_least(tmp_path, services, embedder) -> None:  # type: ignore[no-untyped-def]
    from app.settings import HistorySettings

    # read the 10 nearest work orders and let any similarity match: the least similar one
    # read still matches, so the 12 in the file may hold more
    loose = HistorySettings(nearest=10, similarity_floor=-1, similarity_window=2)
    wide = make_services(services.settings.model_copy(update={"history": loose}), embedder)
    found = wide.history.matching("coolant leaking at the compressor")
    assert found.open_ended and found.count == 10 and found.count_label == "10+"
    assert any(c.startswith("At least 10:") for c in found.cautions())
    assert found.to_json()["count_is_lower_bound"] is True
    exact = services.history.matching("coolant leaking at the compressor")
    assert not exact.open_ended and exact.count_label == str(exact.count)


def test_records_of_something_no_work_order_mentions_are_not_found(services) -> None:  # type: ignore[no-untyped-def]
    # Before issue 29: "Weak match: no work order mentions “demister”" and the whole list of
    # work orders matching the rest, as if it were an answer.
    asked = answer(services, "park brake demister faulty - seen b4?")
    assert asked.status is AnswerStatus.ABSTAINED
    assert "No work order mentions “demister”" in asked.notice
    assert "For reference, the" in render_answer(asked)
    # not asking for the records, it is a question for the documents, not a list of orders
    question = "park brake demister faulty"
    assert services.history.answer(question, services.retriever.retrieve(question)) is None


def test_a_model_name_nothing_holds_gets_no_list_of_orders_close_in_meaning(services) -> None:  # type: ignore[no-untyped-def]
    # before: "No work order mentions “sf”, “led”, “s7”" and 50 blinking-light orders
    asked = answer(services, "SF LED blinking on the S7-1200 PLC - has this happened before?")
    assert asked.status is AnswerStatus.ABSTAINED and asked.history is not None
    assert not asked.history.matches
    assert "No work order names S7-1200" in render_answer(asked)
    # a tag and the number read from it are one name, said once
    tagged = render_answer(answer(services, "VX-7739 leaking again, any past work orders?"))
    assert "No work order names VX7739." in tagged, tagged


def test_a_list_matched_by_meaning_is_capped_and_says_how_many_more(services, embedder) -> None:  # type: ignore[no-untyped-def]
    from app.settings import HistorySettings

    loose = HistorySettings(similarity_floor=-1, similarity_window=2, meaning_listed=3)
    capped = make_services(services.settings.model_copy(update={"history": loose}), embedder)
    found = capped.history.matching("coolant leaking at the compressor")
    assert found.by_meaning_only and found.count == 3 and found.unlisted == 12 - 3
    assert found.count_label == "3+"
    assert "9 more work orders are close in meaning and not listed" in " ".join(found.cautions())
    kept = sorted((m.similarity for m in found.matches), reverse=True)
    everything = services.history.matching("coolant leaking at the compressor")
    assert kept[-1] >= max(m.similarity for m in everything.matches) - 2  # the closest kept


def test_a_follow_up_keeps_its_own_subject(services) -> None:  # type: ignore[no-untyped-def]
    # Before issue 29: the subject took in the words of the question before it ("6 work
    # orders matching '<the previous question> air conditioner'").
    *_, final = services.assistant.answer("QR0218 aircon - whats been done on it",
                                          earlier=["How many times has a machine needed a "
                                                   "jumpstart?"])
    assert {m.order.record_id for m in final.history.matches} == {"WO-1", "WO-2", "WO-3", "WO-4"}
    # "it" is the machine the question before named
    *_, final = services.assistant.answer("whats been done on it",
                                          earlier=["PH639 coolant level sensor keeps faulting"])
    assert final.history.question.assets == ("ph639",)
    assert {m.order.record_id for m in final.history.matches} == {"WO-6", "WO-9"}


def test_what_the_logs_do_not_hold_is_said_not_guessed(services) -> None:  # type: ignore[no-untyped-def]
    unknown = answer(services, "PH693 history pls")
    assert unknown.status is AnswerStatus.ABSTAINED and unknown.text == NOT_FOUND
    assert "No work order names PH693 (did you mean PH639?)" in unknown.notice
    who = answer(services, "which fitter did the park brake coil replacement on MB119")
    assert who.status is AnswerStatus.ABSTAINED
    assert "do not record who did the work" in who.notice
    assert [m.order.record_id for m in who.history.matches] == ["WO-12"]  # for reference
    cost = answer(services, "How much did the compressor change-out on QR0218 cost?")
    assert cost.status is AnswerStatus.ABSTAINED and "cost" in cost.notice


def test_a_manual_question_is_not_taken_for_a_history_question(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "grease.md").write_text("# Lubrication\nHow often should the slew ring be "
                                      "greased? Every 50 operating hours.\n")
    (manual / "alarms.md").write_text("# Alarms\nALARM 1: hard limit triggered mid job. The "
                                      "machine position is lost: re-home before you carry "
                                      "on.\n")
    services.ingestor.ingest([manual])
    for question in ("how often should the slew ring be greased",
                     # "job" and "past" are everyday words when a manual page answers
                     "alm1 mid job, ran into the end switch. can i carry on or do i rehome",
                     "alarm 1 again, how do i get past it"):
        assert services.history.route(question, services.retriever.retrieve(question)) is None
    # ... and ask for the record when a work order answers best
    question = "jump start jobs"
    assert services.history.route(question, services.retriever.retrieve(question)) is not None
    # an asset named beside a code, not asking for the records: the manual answers when no
    # work order of the asset is about it (before: all five of QR0218's work orders listed)
    question = "QR0218 stopped with ALARM 1 after the door was opened, what does it mean?"
    answered = list(services.assistant.answer(question))[-1]
    assert answered.history is None
    assert answered.citations[0].chunk.file == "alarms.md"
    # ... while one whose subject its work orders hold still gets them
    answered = list(services.assistant.answer("QR0218 air con leaking"))[-1]
    assert answered.history is not None and "WO-4" in {
        m.order.record_id for m in answered.history.matches}


def test_rows_follow_the_file_versions_and_leave_no_orphans(services) -> None:  # type: ignore[no-untyped-def]
    csv = services.logs / "work_orders.csv"
    csv.write_text(WORK_ORDERS.replace("WO-12,MB119 replace park brake coil,2024-11-11\n",
                                       "WO-13,MB119 replace park brake switch,2024-12-12\n"))
    services.ingestor.ingest([services.logs])
    ids = {o.record_id for o in services.records.snapshot().orders}
    assert "WO-13" in ids and "WO-12" not in ids and len(ids) == 12
    assert records(services) == 12  # the old version's rows were swept with its chunks
    assert records(services, "work_order_sets") == 1
    assert services.ingestor.remove("work_orders.csv")
    assert services.records.snapshot().orders == []
    assert records(services) == records(services, "work_order_assets") == 0


def test_rows_of_a_version_not_yet_live_are_invisible(services) -> None:  # type: ignore[no-untyped-def]
    """A run killed after writing a new version's rows and before the manifest switched to it
    (written here directly: the kill itself is the crash test of test_ingest_index)."""
    before = services.records.snapshot().orders
    services.records.replace("work_orders.csv", "f" * 64, "x",
                             [WorkOrder("work_orders.csv", "WO-99", "ghost")])
    assert services.records.snapshot().orders == before
    assert records(services) == 13
    # the manifest's sweep list names the file until its old versions are gone
    services.manifest._db.execute("INSERT OR IGNORE INTO sweep VALUES ('work_orders.csv')")
    services.ingestor.ingest([services.logs])
    assert records(services) == 12


def test_a_plant_lexicon_entry_rebuilds_the_rows_without_embedding_again(
        services, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    (services.settings.data_dir / "lexicon.tsv").write_text("tension\ttensioner\n")
    again = make_services(services.settings, embedder)
    report = again.ingestor.ingest([services.logs])
    assert [r.outcome for r in report.results] == ["unchanged"]
    track = next(o for o in again.records.snapshot().orders if o.record_id == "WO-5")
    assert "track tensioner" in track.normalised
    assert records(again) == 12


def test_the_history_command_prints_the_list_and_json(services) -> None:  # type: ignore[no-untyped-def]
    plantops = [str(ROOT / ".venv/bin/plantops"), "--data-dir", str(services.settings.data_dir)]
    listed = subprocess.run([*plantops, "history", "qr0218", "--json"], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["count"] == 5 and data["assets"] == {"QR0218": 5}
    narrowed = subprocess.run([*plantops, "history", "QR0218", "--words", "a/c", "--json"],
                              capture_output=True, text=True, timeout=120)
    assert json.loads(narrowed.stdout)["count"] == 4  # "air conditioner" in any spelling
    unknown = subprocess.run([*plantops, "history", "PH693"], capture_output=True, text=True,
                             timeout=120)
    assert unknown.returncode == 1
    assert "No work order names PH693 (did you mean PH639?)" in unknown.stdout
    spread = subprocess.run([*plantops, "history", "--match", "park brake door alarm",
                             "--json"], capture_output=True, text=True, timeout=120)
    assert {w["asset"] for w in json.loads(spread.stdout)["work_orders"]} >= {"FW9593",
                                                                            "UM4228"}
