import pytest

from app.answer.answering import AnswerStatus, AnswerUpdate
from app.answer.rendering import render_answer
from app.answer.safety import SafetyNotice, about_servicing, find_notices, lockout_sentences
from tests.unit.test_answer_rendering import citation


def test_signal_words_and_lockout_are_found_verbatim() -> None:
    notices = find_notices([
        (1, "Before servicing, apply lockout/tagout to the press. Then remove the die."),
        (2, "WARNING: Never reach into the point of operation. Use hand tools."),
        (3, "A warning light blinks when the fan stops."),  # not a notice: lower case
        (4, "CAUTION  Hot surface! Let it cool."),
    ])
    assert notices == [
        SafetyNotice("Before servicing, apply lockout/tagout to the press.", 1),
        SafetyNotice("WARNING: Never reach into the point of operation.", 2),
        SafetyNotice("CAUTION Hot surface! Let it cool.", 4),
    ]


def test_same_notice_in_two_passages_is_pinned_once() -> None:
    text = "DANGER: High voltage inside the cabinet."
    assert len(find_notices([(1, text), (2, text)])) == 1


def test_notices_are_pinned_above_the_answer_with_their_citation() -> None:
    notice = SafetyNotice("WARNING: Isolate power before opening.", 2)
    md = render_answer(AnswerUpdate("Open the cover [2].", [citation(2)],
                                    AnswerStatus.COMPLETE, safety=[notice]))
    assert md.index("WARNING: Isolate power") < md.index("Open the cover")
    assert "\\[2\\]" in md.split("Open the cover")[0]


@pytest.mark.parametrize(("question", "servicing"), [
    ("How do I replace the clutch on press 4?", True),
    ("The conveyor is jammed, how do I clear it?", True),
    ("Steps to reline the ball mill", True),
    ("How do I change the belt on the dust collector fan?", True),
    ("What does ALARM:2 mean?", False),  # a meaning, no work on a machine
    ("How do I adjust the spindle speed with $30?", False),  # a setting at the panel
    ("How often should the press brake be inspected?", False),  # a schedule, not the work
    ("How do I replace the operator's logbook?", False),  # work, but nothing holds energy
])
def test_servicing_a_machine_that_holds_energy_is_recognised(question: str,
                                                              servicing: bool) -> None:
    assert about_servicing(question) is servicing


def test_the_lockout_rule_is_taken_not_its_exceptions() -> None:
    page = ("Minor servicing may be performed without lockout/tagout if the switch is under "
            "the exclusive control of the employee. Perform servicing and maintenance under an "
            "energy control program (lockout/tagout). LOTO.")
    assert lockout_sentences(page) == [
        "Perform servicing and maintenance under an energy control program (lockout/tagout)."]
