from app.answer.answering import (
    NOT_FOUND,
    AnswerStatus,
    AnswerUpdate,
    Citation,
    Quote,
    build_messages,
)
from app.answer.rendering import citation_anchor, parse_citation_anchor, render_answer
from app.answer.verification import UNSUPPORTED_SENTENCE, Flag
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


def test_quotes_come_first_and_the_models_draft_is_apart_with_its_flags_in_place() -> None:
    update = AnswerUpdate("Heat to 250 °C. Then wait.\nRun $H now", [citation(1)],
                          AnswerStatus.COMPLETE, "Weak evidence — check the cited page.",
                          quotes=[Quote(1, "Check wiring.")], weak=True,
                          flags=[Flag("citation", "the model's draft cites no passage"),
                                 Flag("number", "250 °c", 8), Flag("command", "$H", 31),
                                 Flag("tag", "P-7", None)])
    md = render_answer(update)
    order = [md.index(s) for s in (
        "Weak evidence", "From the documents", "> Check wiring.", "Model's draft",
        "cites none of them", '<div class="model-draft doubtful">',
        "Heat to 250 °C. ⚠️ *not in the cited pages: number 250 °c* Then wait.",
        "Run $H now ⚠️ *not in the cited pages: command $H*", "</div>",
        "Not in the cited pages:** tag P-7")]  # one it could not place: under the draft
    assert order == sorted(order), md
    assert md.count("not in the cited pages") == 2 and "cites no passage" not in md


def test_a_draft_with_nothing_flagged_is_apart_but_not_doubtful() -> None:
    md = render_answer(AnswerUpdate("Check the switch [1].", [citation(1)],
                                    AnswerStatus.COMPLETE))
    assert '<div class="model-draft">' in md and "cites none" not in md
    model_text = AnswerUpdate("a \x00 0 \x00 b <div>", [citation(1)], AnswerStatus.COMPLETE)
    assert "\x00" not in render_answer(model_text)  # no placeholder forged by the model
    assert "&lt;div&gt;" in render_answer(model_text)  # nor HTML of its own


def test_citation_markers_link_to_their_own_answer_and_document_brackets_do_not() -> None:
    """[n] in what the model wrote, in quotes and in Sources open source n of THIS answer; a
    "[3]" inside a quoted manual sentence is the manual's text, left as text."""
    update = AnswerUpdate("Check the switch [2] and [9].",
                          [citation(1), citation(2, "See table [3].")], AnswerStatus.COMPLETE,
                          quotes=[Quote(2, "See table [3].")])
    md = render_answer(update, answer=5)
    assert "[\\[2\\]](#cite-5-2)" in md  # the model's marker, and the quote's
    assert md.count("](#cite-5-2)") == 3  # model text, quote, Sources entry
    assert "\\[9\\]" in md and "#cite-5-9" not in md  # no such source: not a link
    assert "See table \\[3\\]" in md and "#cite-5-3" not in md
    assert "](#cite-5-1)" in md  # Sources entry 1
    assert "#cite-" not in render_answer(update)  # terminal / API: no links


def test_stopped_answer_keeps_what_was_written_and_says_it_is_incomplete() -> None:
    from app.ui.ask import stopped_history

    streaming = AnswerUpdate("Check the", [citation(1)], AnswerStatus.STREAMING)
    history = [{"role": "user", "content": "q"},
               {"role": "assistant", "content": render_answer(streaming, 1)}]
    [_, stopped] = stopped_history(history, streaming, 1)
    assert "Stopped: the answer is incomplete" in stopped["content"]
    assert "Check the" in stopped["content"] and "▌" not in stopped["content"]
    assert stopped_history(history[:1], streaming, 1) == history[:1]  # nothing streaming


def test_citation_links_parse_strictly() -> None:
    assert parse_citation_anchor(citation_anchor(3, 2)[1:] + ":1796149916408") == (3, 2)
    for junk in ("", "cite-3", "cite-a-2:1", "x-1-2:1", "cite-1-2-3:4", None):
        assert parse_citation_anchor(junk) is None  # type: ignore[arg-type]


def test_the_models_text_never_becomes_a_code_block() -> None:
    # Issue 29: an invented command must not be shown as a copyable code block, whatever the
    # model writes: fenced (``` or ~~~) or indented.
    from markdown_it import MarkdownIt

    text = ("Do this:\n\n    rm -rf /var/lib/plc\n\n~~~\nG10 L20 P1 X0\n~~~\n\n```\n$RST=*\n```\n"
            "1. Unlock [1].\n    2. Re-home.")
    html_page = MarkdownIt().render(render_answer(AnswerUpdate(text, [citation(1)],
                                                               AnswerStatus.COMPLETE)))
    assert "<code>" not in html_page and "<pre>" not in html_page
    assert "rm -rf /var/lib/plc" in html_page and "G10 L20 P1 X0" in html_page


def test_a_sentence_no_cited_page_backs_is_marked_where_it_stands() -> None:
    text = "Check the switch [1]. Remove the gear box from the press brake.\n2. Then wait."
    update = AnswerUpdate(text, [citation(1)], AnswerStatus.COMPLETE, flags=[
        Flag(UNSUPPORTED_SENTENCE, "Remove the gear box from the press brake.", 22),
        Flag(UNSUPPORTED_SENTENCE, "Then wait.", 66), Flag("number", "10 mm", 70)])
    md = render_answer(update)
    assert ("Remove the gear box from the press brake. ⚠️ *no cited page says this*" in md), md
    assert "Then wait. ⚠️ *no cited page says this; not in the cited pages: number 10 mm*" in md
    assert "Check the switch" in md and md.count("⚠️") == 2
    assert '<div class="model-draft doubtful">' in md


def test_a_draft_mostly_in_no_cited_page_is_folded_away_under_the_quotes() -> None:
    text = "Check the switch [1]. Remove the gear box from the press brake. Weld the frame."
    flags = [Flag(UNSUPPORTED_SENTENCE, "Remove the gear box from the press brake.", 22),
             Flag(UNSUPPORTED_SENTENCE, "Weld the frame.", 64)]
    folded = render_answer(AnswerUpdate(text, [citation(1)], AnswerStatus.COMPLETE,
                                        quotes=[Quote(1, "Check wiring.")], flags=flags))
    assert folded.index("> Check wiring.") < folded.index("<details") < folded.index(
        "Folded: 2 sentences of it are in no cited page") < folded.index("Weld the frame.")
    kept = render_answer(AnswerUpdate(text, [citation(1)], AnswerStatus.COMPLETE,
                                      flags=flags[1:]))  # one short sentence: shown as is
    assert "<details" not in kept and "Weld the frame. ⚠️" in kept
    writing = render_answer(AnswerUpdate(text, [citation(1)], AnswerStatus.STREAMING,
                                         flags=flags))
    assert "<details" not in writing


def test_each_warning_of_an_answer_is_a_line_of_its_own() -> None:
    md = render_answer(AnswerUpdate(
        "Check", [citation(1)], AnswerStatus.INCOMPLETE,
        "Weak evidence — check the cited page. The model repeated itself; the answer was "
        "stopped.", weak=True))
    assert "⚠️ **Weak evidence — check the cited page.**\n\n⚠️ **Incomplete answer.** The " \
           "model repeated itself; the answer was stopped." in md, md
