"""What makes an answer trustworthy whatever model wrote it: claims checked against the
cited passages, loops stopped, codes in tables found, a calibrated not-found decision, and
figures reported with their uncertainty."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from app.answer.answering import AnswerStatus, AnswerUpdate, Citation, Quote, checked
from app.answer.evidence import FEATURES, AbstentionModel, Verdict
from app.answer.verification import Flag, is_repeating, unsupported_claims
from app.evaluation import QuestionResult, summarise
from app.records.audit import AuditEntry, AuditLog
from app.records.database import Database
from ingest.chunking import make_splitter, split_into_chunks
from ingest.contract import Chunk, DocType
from ingest.sources import TextUnit
from ingest.tags import identifiers_in_query, numbered_words, spellings
from ingest.words import as_written, written_form

PASSAGE = Chunk(
    text="2 Soft limit Soft limit alarm. G-code motion target exceeds machine travel. Machine "
         "position retained. Alarm may be safely unlocked with $X. Keep the spindle below "
         "24000 rpm and the bed at 60 °C for 10 minutes. Replace bearing 6204-2RS. The "
         "config is /home/pi/printer_data/config/printer.cfg; run G38.2 to probe. Pump "
         "P-101A seal.", file="grbl.pdf", file_sha256="s", doc_type=DocType.MANUAL,
    chunk_index=0, page=1, fault_codes=("alarm:2",))

QUOTED = ("ALARM:2 is a soft limit alarm [1]: G-code motion target exceeds machine travel. "
          "Machine position retained. Alarm may be safely unlocked with $X. Keep the spindle "
          "below 24000 rpm and the bed at 60°C for 10 min. Replace bearing 6204-2RS. Edit "
          "/home/pi/printer_data/config/printer.cfg and run `G38.2` to probe P-101A.")


def test_an_answer_quoting_its_passage_is_not_flagged() -> None:
    assert unsupported_claims(QUOTED, [PASSAGE]) == []


@pytest.mark.parametrize(("injected", "flag"), [
    ("Heat the bed to 250 °C.", Flag("number", "250 °c")),
    ("Wait 30 minutes.", Flag("number", "30 min")),
    ("Keep the spindle below 30000 rpm.", Flag("number", "30000 rpm")),
    ("This is ALARM:14.", Flag("fault code", "ALARM:14")),
    ("Then error 22 follows.", Flag("fault code", "ERROR:22")),
    ("Check pump P-202B.", Flag("tag", "P202B")),
    ("Replace bearing 6205-2Z.", Flag("part number", "6205-2Z")),
    ("Run `sudo nano /etc/init.d/tminicad`.", Flag("command", "sudo nano /etc/init.d/tminicad")),
    ("Send $H to home.", Flag("command", "$H")),
    ("Run G28 first.", Flag("command", "G28")),
    ("Look in /var/log/klipper.log.", Flag("path", "/var/log/klipper.log")),
])
def test_every_injected_wrong_fact_is_flagged(injected: str, flag: Flag) -> None:
    assert unsupported_claims(f"{QUOTED} {injected}", [PASSAGE]) == [flag]


def test_a_finished_answer_carries_its_flags_and_citations() -> None:
    citations = [Citation(1, PASSAGE, 0.7)]
    update = AnswerUpdate("The bed goes to 250 °C.", citations, AnswerStatus.COMPLETE,
                          quotes=[Quote(1, "Machine position retained.")])
    result = checked(update)
    assert result.cited == [1]  # the quote cites, even when the model wrote no [n]
    assert [str(f) for f in result.flags] == ["the model's draft cites no passage",
                                               "number 250 °c"]


def test_audit_rows_keep_cited_sources_and_flags(tmp_path: Path) -> None:
    log = AuditLog(Database.in_file(tmp_path / "records.sqlite3"))
    log.record(AuditEntry("op", "operator", "ask", "q", ["a.pdf, page 1"], ["a.pdf, page 1"],
                          "x", "complete", flags=["number 250 °c", "weak evidence"]))
    [row] = log.rows()
    assert row["cited"] == "a.pdf, page 1" and row["flags"] == "number 250 °c; weak evidence"


def test_loops_are_recognised_and_ordinary_text_is_not() -> None:
    assert is_repeating("Check the limit switch wiring. " * 3)
    assert is_repeating("to the left and " * 12)  # no full stop at all
    assert not is_repeating("Check the switch. Check the wiring. Check the fuse. Re-home.")


def test_codes_in_a_table_are_tagged_on_their_rows_across_pages() -> None:
    pages = [TextUnit("Alarm Codes\nAlarm\nCode Description\n1 Hard limit Hard limit.\n"
                      "2 Soft limit Soft limit alarm.", page=1),
             TextUnit("9 Homing fail Could not find limit switch.\nError Codes\n"
                      "22 Undefined feed rate Feed rate has not yet been set.", page=2),
             TextUnit("Setting Codes\n0 Step pulse time microseconds", page=3)]
    chunks = list(split_into_chunks(pages, file="grbl.pdf", file_sha256="s",
                                    doc_type=DocType.MANUAL, splitter=make_splitter(2000, 0)))
    assert [set(c.fault_codes) for c in chunks] == [{"alarm:1", "alarm:2"},
                                                   {"alarm:9", "error:22"}, set()]


@pytest.mark.parametrize(("question", "codes"), [
    ("alm9 on the router", {"alarm:9"}), ("alrm 8 during homeing", {"alarm:8"}),
    ("ALARM 9", {"alarm:9"}), ("err 22 after upload", {"error:22"}),
    ("error:22", {"error:22"}), ("Error #22", {"error:22"}),
    ("E22 on upload", {"error:22", "e22"}), ("e9 again", {"error:9"}),  # or a tag E22
])
def test_fault_code_spellings_are_one_code(question: str, codes: set[str]) -> None:
    assert identifiers_in_query(question) == codes


def test_an_identifier_is_unknown_only_when_none_of_its_spellings_is_indexed() -> None:
    assert spellings("e22") == {"error:22"} and "e22" in spellings("error:22")
    assert spellings("qr0218") == set()


@pytest.mark.parametrize(("question", "words"), [
    ("Sinumerik 840D alarm 25050 contour monitoring", {"840d", "25050"}),
    ("linuxcnc hm2 watchdog has bit on a mesa 7i96 card", {"hm2", "7i96"}),
    ("vibration limit for a 75 kW motor at 1800 rpm per ISO 10816?", {"10816"}),
    # quantities, ordinals, years and two-character words name no one thing
    ("1.7A, 20x a shift, the 2nd press, 3 inches, 1000 hours, since 2019, M6 T2 b4", set()),
    # a unit glued on or written after: the same list either way
    ("every 1000hours, 2500 kwh, 4500kwh, 1500 amps, 1200amps", set()),
])
def test_numbered_words_name_a_thing_not_a_quantity(question: str, words: set[str]) -> None:
    assert numbered_words(question) == words


def test_a_missing_model_name_is_said_as_it_was_written() -> None:
    question = "SF LED blinking on an S7-1200 (FX3U-32M backup) - what does it mean?"
    assert {written_form(question, w) for w in numbered_words(question)} == {
        "S7-1200", "FX3U-32M"}
    assert written_form("alarm 14 again", "alarm:14") == "alarm:14"  # a code: its own form
    # the tag read from "VX-7739" and the numbered word of it are one thing, said once
    assert as_written("torque for the VX-7739 bolts?", ["VX-7739", "vx7739"]) == ("VX-7739",)


def test_the_shipped_not_found_model_is_complete_and_ordered() -> None:
    model = AbstentionModel.load()
    assert set(model.coefficients) == set(FEATURES) == set(model.means) == set(model.scales)
    assert 0 < model.weak_at <= model.answer_at < 1
    strong = {"top_coverage": 0.9, "best_combined": 1.3, "ids_missing_from_index": 0.0}
    none = {"top_coverage": 0.05, "best_combined": 0.3, "ids_missing_from_index": 1.0}
    assert model.decide(strong).verdict is Verdict.ANSWER
    assert model.decide(none).verdict is Verdict.NOT_FOUND
    unknown_code = {**strong, "ids_missing_from_index": 1.0}
    assert model.probability(unknown_code) < model.probability(strong)


def result(i: int, rank: int | None, verdict: Verdict = Verdict.ANSWER,
           answerable: bool = True) -> QuestionResult:
    return QuestionResult(f"q{i}", "fault_code", answerable, rank, verdict, 0.9, None, {})


def test_figures_come_with_intervals_that_hold_them() -> None:
    results = [result(i, 1 if i % 4 else None) for i in range(40)]
    results += [result(40 + i, None, Verdict.NOT_FOUND if i % 2 else Verdict.WEAK, False)
                for i in range(10)]
    report = summarise(results)
    assert report.recall_at_k == 0.75 and report.metrics["unanswerable_declined"] == 0.5
    for name, value in report.metrics.items():
        if not math.isnan(value):
            low, high = report.intervals[name]
            assert low <= value <= high, name
    low, high = report.intervals["recall@5"]
    assert 0.55 < low < 0.75 < high < 0.9  # forty questions: about ±0.13
    assert summarise(results).intervals == report.intervals  # seeded: reproducible
    assert json.dumps(report.to_json())
