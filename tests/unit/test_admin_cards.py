"""What a phone shows of the Documents tab instead of its grids (issue 30: below 640 px every
table wrapped one or two letters a line): one line per row, every value there, nothing of a
file name or a question read as HTML or Markdown."""

from __future__ import annotations

from app.ui.documents import AUDIT_COLUMNS, audit_cards, document_cards, report_cards

HOSTILE = "<img src=x onerror=alert(1)> **bold** [link](http://x).pdf"


def test_an_ingest_report_card_holds_the_reason_in_full_and_no_markup() -> None:
    reason = "encrypted PDF: it needs a password; save an unprotected copy and upload that"
    cards = report_cards([[HOSTILE, "failed", 0, reason], ["pump.md", "added", 12, ""]])
    first, second = cards.splitlines()
    assert reason in first and "failed, 0 chunks" in first
    assert "<img" not in cards and "\\*\\*bold\\*\\*" in first and "\\[link\\]" in first
    assert second == "- **pump.md** — added, 12 chunks"


def test_document_and_audit_cards_say_every_value_and_when_there_are_none() -> None:
    assert document_cards([]) == "No documents yet." and audit_cards([]) == "No entries."
    doc, drawing = document_cards([
        ["grbl.pdf", "manual", 40, "indexed", "2026-12-03 10:00", ""],
        ["vx.pdf", "manual", 2, "indexed", "2026-12-03 10:01", "drawings"]]).splitlines()
    assert doc == "- **grbl.pdf** — manual, 40 chunks, indexed, 2026-12-03 10:00 UTC"
    assert drawing.endswith("10:01 UTC, collection **drawings**")
    row = {c: "" for c in AUDIT_COLUMNS} | {
        "id": 7, "time_utc": "2026-12-03 10:01", "user": "op", "role": "operator",
        "action": "ask", "question": "ALARM:2 <b>now</b>?", "status": "complete",
        "feedback": "up"}
    [line] = audit_cards([[row[c] for c in AUDIT_COLUMNS]]).splitlines()
    assert line.startswith("- 2026-12-03 10:01 · **op** (operator) · ask")
    assert "question: ALARM:2 &lt;b&gt;now&lt;/b&gt;?" in line.replace("\\", "")
    assert "status: complete" in line and "feedback: up" in line and "comment" not in line


def test_one_chunk_and_a_sign_in_without_a_role_read_plainly() -> None:
    assert report_cards([["a.md", "indexed", 1, ""]]) == "- **a.md** — indexed, 1 chunk"
    row = {c: "" for c in AUDIT_COLUMNS} | {"time_utc": "t", "user": "x", "action": "sign-in",
                                           "status": "wrong name or password"}
    assert audit_cards([[row[c] for c in AUDIT_COLUMNS]]) == (
        "- t · **x** · sign-in · status: wrong name or password")
