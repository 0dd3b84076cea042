"""OCR text: the spaces the recogniser drops are put back, and nothing else changes."""

from ingest.ocr import split_joined_words


def test_words_run_together_are_split() -> None:
    assert split_joined_words("Soft limitalarm.G-codemotiontargetexceedsmachinetravel.") == (
        "Soft limit alarm.G-code motion target exceeds machine travel.")
    assert split_joined_words("Homingfail.Couldnotfindlimitswitch") == (
        "Homing fail.Could not find limit switch")


def test_words_codes_and_unknown_runs_are_left_as_read() -> None:
    kept = "ALARM:2 P-101A Configuration grbl $22=1 Xkqzvbwtrp"
    assert split_joined_words(kept) == kept
