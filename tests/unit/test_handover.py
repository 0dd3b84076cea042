"""A shift's handover from the audit log (app.records.handover, `plantops handover`): every
question of the window with how its answer ended, what needs the next shift's eyes first,
nothing from outside the window, and clear words for a window that cannot be read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.commands.cli import EXIT_ERROR, main
from app.records.audit import AuditEntry, AuditLog
from app.records.database import Database
from app.records.handover import HandoverError, handover, parse_time
from app.records.incidents import IncidentStore
from app.records.users import Role, User
from app.records.work_orders import DraftStore, WorkOrderFields


def shift_log(data: Path) -> tuple[AuditLog, float, float]:
    log = AuditLog(Database.in_file(data / "records.sqlite3"))
    start = time.time() - 1
    ask = {"user": "op", "role": "operator", "action": "ask", "model": "m"}
    log.record(AuditEntry(question="What does ALARM:2 mean?", status="complete",
                          cited=["grbl.pdf, page 1"], **ask))
    log.record(AuditEntry(question="QR0218 aircon blowing warm again", status="complete",
                          **ask))
    log.record(AuditEntry(question="what's been done on qr-0218 and PH639?", status="complete",
                          **ask))
    log.record(AuditEntry(question="Torque for the M20 liner bolts?", status="abstained", **ask))
    weak = log.record(AuditEntry(question="Press | clutch slips", status="complete",
                                 cited=["osha.pdf, page 23"],
                                 flags=["weak evidence", "number 250 °c",
                                        "no cited page says: “Set it to 250 °C.”",
                                        "no cited page says: “Then wait.”",
                                        "[2] defeats a safety device"], **ask))
    log.set_feedback(weak, "op", "down")
    log.record(AuditEntry(user="tech", role="technician", action="search", question="seal"))
    return log, start, time.time() + 1


def test_a_shift_lists_each_question_with_its_outcome_and_what_needs_a_look(
        tmp_path: Path) -> None:
    log, start, end = shift_log(tmp_path)
    shift = handover(log, start, end, {"qr0218": 14, "ph639": 3, "xx100": 1})
    assert [a.assets for a in shift.asked[1:3]] == [["qr0218"], ["ph639", "qr0218"]]
    assert shift.assets == [("qr0218", 2, 14), ("ph639", 1, 3)]
    shift.asked[1:3] = []
    assert [(a.question, a.outcome) for a in shift.asked] == [
        ("What does ALARM:2 mean?", "answered"),
        ("Torque for the M20 liner bolts?", "not found"),
        ("Press | clutch slips", "weak evidence")]  # a search is not a question asked
    weak = shift.asked[2]
    assert weak.doubts[0] == "number 250 °c" and len(weak.doubts) == 3
    assert weak.hazards == ["[2] defeats a safety device"]
    assert weak.feedback == "down" and weak.sources == ["osha.pdf, page 23"]
    md = handover(log, start, end, {"qr0218": 14}).to_markdown()
    assert "- QR0218: asked 2 times this shift; 14 work orders on record" in md
    md = shift.to_markdown()
    assert "3 questions from 1 user (op): 1 answered, 1 not found, 1 weak evidence." in md
    look = md[md.index("## Needs a look"):md.index("## Every question")]
    assert "ALARM:2" not in look and "M20 liner bolts?” — not found" in look
    assert ("weak evidence, flagged: number 250 °c; 2 sentences no cited page says, hazard: "
            "[2] defeats a safety device, rated not helpful") in look  # the row holds them
    assert "| Press \\| clutch slips | weak evidence | osha.pdf, page 23 |" in md  # one cell


def test_nothing_outside_the_window_and_an_empty_window_says_so(tmp_path: Path) -> None:
    log, start, _ = shift_log(tmp_path)
    earlier = handover(log, start - 3600, start - 60)
    assert earlier.asked == []
    assert "Nothing was asked in this window, and no work order was drafted or confirmed in " \
        "it." in earlier.to_markdown()


def test_a_shift_shows_its_incidents_safety_notices_and_work_orders(tmp_path: Path) -> None:
    db = Database.in_file(tmp_path / "records.sqlite3")
    log, start, _ = shift_log(tmp_path)
    log.record(AuditEntry(user="op", role="operator", action="ask", status="complete",
                          question="Clear a jam on the CV-12 conveyor",
                          flags=["safety notice [1] osha.pdf, page 23"]))
    incidents = IncidentStore(db)
    open_one = incidents.save("op", None, "QR0218 aircon blowing warm again", {})
    closed = incidents.save("op", None, "PH639 door alarm", {})
    orders = DraftStore(db)
    op, tech = User("op", Role.OPERATOR), User("tech", Role.TECHNICIAN)
    draft = orders.create(op, closed, WorkOrderFields("PH639", "door alarm after reset"))
    orders.confirm(tech, draft.id, draft.version, draft.fields)
    orders.create(op, open_one, WorkOrderFields("QR0218", "aircon blowing warm"))
    shift = handover(log, start, time.time() + 1, {"qr0218": 14, "ph639": 3}, orders,
                     incidents)
    assert [(i.id, i.closed_by) for i in shift.incidents] == [(open_one, ""),
                                                              (closed, "PO-WO-00001")]
    md = shift.to_markdown()
    assert "## Incidents (1 still open)" in md
    assert "“PH639 door alarm” — closed by work order PO-WO-00001" in md
    assert "the notice of [1] osha.pdf, page 23" in md
    assert "PO-WO-00001 drafted by op: PH639 door alarm after reset" in md
    assert "PO-WO-00002 drafted by op: QR0218 aircon blowing warm (incident 1) — still a draft" \
        in md
    assert "PO-WO-00001 confirmed by tech" in md
    assert "- PH639: asked 1 time this shift; 3 work orders on record (`plantops " \
        "history PH639`)" in md
    assert "- QR0218: asked 2 times this shift; 14 work orders on record (`plantops history " \
        "QR0218`)" in md
    clutch = next(a for a in shift.asked if a.question.startswith("Clear a jam"))
    assert clutch.safety == ["[1] osha.pdf, page 23"] and clutch.doubts == []


@pytest.mark.parametrize(("start", "end", "said"), [
    ("2026-02-30", "2026-03-01", "“2026-02-30” is not a time"),
    ("2026-12-03 14:00", "2026-12-03 06:00", "ends before it starts"),
])
def test_a_window_that_cannot_be_read_is_refused_with_how_to_write_it(
        tmp_path: Path, start: str, end: str, said: str) -> None:
    log = AuditLog(Database.in_file(tmp_path / "records.sqlite3"))
    with pytest.raises(HandoverError, match=said):
        handover(log, parse_time(start), parse_time(end))


def test_the_command_writes_markdown_or_json_and_says_a_bad_window(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTOPS_DATA_DIR", str(tmp_path))  # main sets it: put back after
    shift_log(tmp_path)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    window = ["--from", day, "--to", tomorrow]
    assert main(["--data-dir", str(tmp_path), "handover", *window, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["outcomes"] == {"answered": 3, "not found": 1, "weak evidence": 1}
    out = tmp_path / "shift.md"
    assert main(["--data-dir", str(tmp_path), "handover", *window, "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith(f"# Shift handover {day} 00:00")
    assert main(["--data-dir", str(tmp_path), "handover", *window,
                 "--out", str(tmp_path / "no-such-folder" / "shift.md")]) == 1
    assert main(["--data-dir", str(tmp_path), "handover", "--from", "yesterday"]) == EXIT_ERROR
    assert "is not a time" in capsys.readouterr().err


def test_a_reader_barred_from_a_document_sees_no_page_of_it_in_the_handover(
        tmp_path: Path) -> None:
    log, start, _ = shift_log(tmp_path)
    log.record(AuditEntry(user="qa", role="operator", action="ask", status="complete",
                          question="Reject rate on line 3 after the die change?",
                          cited=["qa-secret.pdf, page 4", "grbl.pdf, page 1"],
                          flags=["number 2.5 %", "safety notice [1] qa-secret.pdf, page 4"]))
    shift = handover(log, start, time.time() + 1)
    assert "qa-secret.pdf" in shift.to_markdown()  # as the CLI gives it to an admin
    md = shift.readable_by({"qa-secret.pdf"}).to_markdown()
    assert "qa-secret" not in md and "2.5 %" not in md  # nor the model's words about it
    assert "Reject rate on line 3 after the die change?" in md  # the asker's words stay
    assert "grbl.pdf, page 1; 1 document page you may not read" in md
    assert "the notice of a document you may not read" in md
    assert "flagged: not shown (the answer cites a document you may not read)" in md
    # what cites nothing hidden is as it was
    assert "flagged: number 250 °c; 2 sentences no cited page says" in md
    assert shift.readable_by(frozenset()).to_markdown() == shift.to_markdown()
