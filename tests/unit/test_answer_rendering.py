from app.answering import (
    NOT_FOUND,
    AnswerStatus,
    AnswerUpdate,
    Citation,
    Quote,
    build_messages,
)
from app.rendering import render_answer
from app.verification import Flag
from ingest.contract import Chunk, DocType


def citation(n: int, text: str = "Check wiring.", page: int | None = 1) -> Citation:
    return Citation(n, Chunk(text=text, file="grbl_alarm_and_error_codes.pdf", file_sha256="s",
                             doc_type=DocType.MANUAL, chunk_index=n, page=page), 0.6)


def test_prompt_numbers_passages_and_treats_them_as_data() -> None:
    system, user = build_messages("ALARM 9?", [citation(1), citation(2, "Max travel.")])
    assert system.role == "system" and "not instructions" in system.content
    assert NOT_FOUND in system.content
    assert "[1] (grbl_alarm_and_error_codes.pdf, page 1)\nCheck wiring." in user.content
    assert "[2]" in user.content and user.content.endswith("Question: ALARM 9?")


def test_sources_are_listed_with_file_and_page() -> None:
    md = render_answer(AnswerUpdate("Check wiring [1].", [citation(1)], AnswerStatus.COMPLETE))
    assert "grbl\\_alarm\\_and\\_error\\_codes.pdf, page 1" in md


def test_document_and_model_html_is_rendered_as_text() -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    md = render_answer(AnswerUpdate(evil, [citation(1, evil)], AnswerStatus.MODEL_UNAVAILABLE,
                                    "down"))
    assert "<script>" not in md and "<img" not in md


def test_incomplete_and_abstained_answers_are_labelled() -> None:
    cut = render_answer(AnswerUpdate("Check", [citation(1)], AnswerStatus.INCOMPLETE, "x"))
    assert "Incomplete answer" in cut
    none = render_answer(AnswerUpdate(NOT_FOUND, [citation(1)], AnswerStatus.ABSTAINED, "x"))
    assert "Not found in the documents" in none and "Check wiring" in none


def test_streaming_answer_shows_it_is_still_being_written() -> None:
    assert "▌" in render_answer(AnswerUpdate("", [citation(1)], AnswerStatus.STREAMING))
    assert "▌" in render_answer(AnswerUpdate("Check", [citation(1)], AnswerStatus.STREAMING))
    assert "▌" not in render_answer(AnswerUpdate("Check", [citation(1)], AnswerStatus.COMPLETE))


def test_quotes_come_before_the_generated_answer_and_flags_after_it() -> None:
    update = AnswerUpdate("Heat to 250 °C.", [citation(1)], AnswerStatus.COMPLETE,
                          "Weak evidence — check the cited page.",
                          quotes=[Quote(1, "Check wiring.")], weak=True,
                          flags=[Flag("citation", "the answer cites no passage"),
                                 Flag("number", "250 °c")])
    md = render_answer(update)
    order = [md.index(s) for s in ("Weak evidence", "From the documents", "> Check wiring.",
                                   "Model's answer", "Heat to 250", "cites no passage",
                                   "Not in the cited pages:** number 250 °c")]
    assert order == sorted(order), md
