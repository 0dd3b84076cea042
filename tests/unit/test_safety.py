from app.answer.answering import AnswerStatus, AnswerUpdate
from app.answer.rendering import render_answer
from app.answer.safety import SafetyNotice, find_notices
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
