"""OCR text: the spaces the recogniser drops are put back, and nothing else changes."""

from ingest.ocr import rows_of, split_joined_words


def test_words_run_together_are_split() -> None:
    assert split_joined_words("Soft limitalarm.G-codemotiontargetexceedsmachinetravel.") == (
        "Soft limit alarm.G-code motion target exceeds machine travel.")
    assert split_joined_words("Homingfail.Couldnotfindlimitswitch") == (
        "Homing fail.Could not find limit switch")


def test_words_codes_and_unknown_runs_are_left_as_read() -> None:
    kept = "ALARM:2 P-101A Configuration grbl $22=1 Xkqzvbwtrp"
    assert split_joined_words(kept) == kept


def box(x: int, y: int, w: int, h: int) -> list[list[int]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_a_table_row_read_in_boxes_stays_one_line() -> None:
    boxes = [(box(300, 102, 200, 30), "Soft limit"), (box(50, 100, 20, 30), "2"),
             (box(50, 140, 20, 30), "3"), (box(600, 101, 300, 30), "Soft limit alarm."),
             (box(300, 141, 200, 30), "Abort")]
    assert rows_of(boxes) == ["2 Soft limit Soft limit alarm.", "3 Abort"]
