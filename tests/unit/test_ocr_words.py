"""OCR text: the spaces the recogniser drops are put back, and nothing else changes."""

import numpy as np

from ingest.ocr import reading_regions, rows_of, split_joined_words, text_columns


def test_words_run_together_are_split() -> None:
    assert split_joined_words("Soft limitalarm.G-codemotiontargetexceedsmachinetravel.") == (
        "Soft limit alarm. G-code motion target exceeds machine travel.")
    assert split_joined_words("travel.Machine position,when reset") == (
        "travel. Machine position, when reset")
    assert split_joined_words("Homingfail.Couldnotfindlimitswitch") == (
        "Homing fail. Could not find limit switch")


def test_an_acronym_run_into_words_keeps_its_letters() -> None:
    assert split_joined_words("OSHArecognizesthevaluablecontributionsof") == (
        "OSHA recognizes the valuable contributions of")
    assert split_joined_words("ItincludestheEEC(seeEEC)") == "It includes the EEC(seeEEC)"
    assert split_joined_words("FADECschedulesthefueltothe") == "FADEC schedules the fuel to the"


def test_words_codes_and_unknown_runs_are_left_as_read() -> None:
    kept = ("ALARM:2 P-101A Configuration grbl $22=1 Xkqzvbwtrp ShortToGND StallGuard 1,000 "
            "www.osha.gov v1.1")
    assert split_joined_words(kept) == kept


def box(x: int, y: int, w: int, h: int) -> list[list[int]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_a_table_row_read_in_boxes_stays_one_line() -> None:
    boxes = [(box(300, 102, 200, 30), "Soft limit"), (box(50, 100, 20, 30), "2"),
             (box(50, 140, 20, 30), "3"), (box(600, 101, 300, 30), "Soft limit alarm."),
             (box(300, 141, 200, 30), "Abort")]
    assert rows_of(boxes) == ["2 Soft limit Soft limit alarm.", "3 Abort"]


def page(lines: list[tuple[int, int, int]], width: int = 1000, height: int = 1200) -> np.ndarray:
    """A rendered page (white) with a black bar for each (top, left, right) line of text."""
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    for top, left, right in lines:
        image[top:top + 16, left:right] = 0
    return image


def test_two_text_columns_are_read_down_the_left_then_down_the_right() -> None:
    heading = [(40, 100, 900)]  # a title across both columns
    left = [(100 + 24 * i, 100, 480 - (i % 3) * 30) for i in range(30)]  # ragged right edge
    right = [(100 + 24 * i, 520, 900 - (i % 4) * 25) for i in range(30)]
    regions = reading_regions(page(heading + left + right))
    assert regions[0][2:] == (0, 1000)  # the title first, across the page
    columns = [r for r in regions if r[1] - r[0] > 500]
    assert [(r[2], r[3]) for r in columns] == [(0, 500), (500, 1000)]  # left, then right
    assert regions.index(columns[0]) < regions.index(columns[1])


def test_an_index_with_page_numbers_is_two_columns() -> None:
    entries = [(100 + 24 * i, 100, 400 - (i % 3) * 40) for i in range(40)]  # "Detonation …"
    entries += [(100 + 24 * i, 430, 470) for i in range(40)]  # "10-29"
    entries += [(100 + 24 * i, 520, 820 - (i % 2) * 50) for i in range(40)]
    entries += [(100 + 24 * i, 850, 900) for i in range(40)]
    assert text_columns(page(entries)[:, :, 0] < 160) == [(0, 495), (495, 1000)]


def test_a_table_is_one_column_so_its_rows_stay_rows() -> None:
    rows = [(100 + 30 * i, 100, 130) for i in range(25)]  # code
    rows += [(100 + 30 * i, 250, 330 + (i % 5) * 25) for i in range(25)]  # short messages
    rows += [(100 + 30 * i, 520, 900) for i in range(25)]  # descriptions
    assert reading_regions(page(rows)) == [(0, 1200, 0, 1000)]
    assert text_columns(page(rows)[:, :, 0] < 160) == [(0, 1000)]


def test_a_one_column_page_is_read_whole() -> None:
    assert reading_regions(page([(100 + 24 * i, 100, 900) for i in range(40)])) == [
        (0, 1200, 0, 1000)]
