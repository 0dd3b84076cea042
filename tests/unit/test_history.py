"""Work-order history: the rules that need no index."""

from app.answer.answering import AnswerStatus, history_answer
from app.answer.history.matches import Evidence, History, Match, select
from app.answer.history.question import (
    FAILED,
    HistoryQuestion,
    order_words,
    subject_words,
    words_of,
)
from app.answer.rendering import render_answer
from app.settings import HistorySettings
from app.ui.history import PER_MONTH, chart_frame
from ingest.lexicon import Lexicon
from ingest.records import WorkOrder, describe


def order(record_id: str, text: str, asset: str = "", date: str | None = None) -> WorkOrder:
    return WorkOrder("wo.csv", record_id, text, assets=(asset,) if asset else (), date=date)


def test_abbreviations_are_written_out_and_the_text_shown_stays_as_written() -> None:
    lexicon = Lexicon.load()
    assert lexicon.normalise("C/O L/H HYD CYL u/s") == ("change out left hand hydraulic "
                                                        "cylinder unserviceable")
    assert describe("replace left hand hydraulic cylinder leaking") == (
        "replace", "leak", "hydraulic cylinder")
    assert describe("ph639 jump start") == ("", "", "jump start")


def test_words_are_stemmed_so_endings_do_not_matter() -> None:
    assert words_of("brakes dragging") == words_of("brake drag")


def test_every_way_of_saying_it_does_not_work_is_one_word() -> None:
    lexicon = Lexicon.load()
    assert subject_words("windscreen washer not working") == ["windscreen", "washer", FAILED]
    for said in ("BG0988 Windscreen washer don't work", "washer button u/s",
                 "washer bottle broken", "washer inop", "faulty washer"):
        assert FAILED in order_words(lexicon.normalise(said)), said
    assert FAILED not in order_words("replace windscreen washer pump")
    assert "work" not in subject_words("washer not working")  # not a word to look for


def test_a_close_work_order_matches_only_near_the_best_one() -> None:
    settings = HistorySettings(similarity_floor=0.35, similarity_window=0.2)
    evidence = [Evidence(order("1", "a"), 0.70, False), Evidence(order("2", "b"), 0.52, False),
                Evidence(order("3", "c"), 0.49, False),  # 0.21 below the best
                Evidence(order("4", "d"), None, True),  # every word: always
                Evidence(order("5", "e"), 0.30, False)]
    assert [(m.order.record_id, m.how) for m in select(evidence, settings)] == [
        ("1", "meaning"), ("2", "meaning"), ("4", "words")]
    flat = [Evidence(order("1", "a"), 0.34, False)]  # below the floor however close
    assert select(flat, settings) == []


def test_the_answer_counts_groups_and_cites_every_record() -> None:
    matches = [Match(order("1", "PH639 JUMP START", "ph639", "2024-02-01"), "words"),
               Match(order("2", "AN426 JUMP START", "an426", "2024-03-01"), "words"),
               Match(order("3", "PH639 jump start again", "ph639", "2024-05-01"), "meaning")]
    history = History(HistoryQuestion("how many jump starts", subject=("jump", "start")),
                      matches)
    update = history_answer(history, {})
    assert update.status is AnswerStatus.COMPLETE
    assert [c.chunk.record_id for c in update.citations] == ["3", "1", "2"]  # PH639, newest
    shown = render_answer(update, 4)
    assert "**3 work orders** matching “jump start”, on 2 assets: PH639 (2), AN426 (1)" in shown
    assert shown.count("(#cite-4-") == 3
    assert list(chart_frame(history)["asset"]) == ["PH639", "AN426"]
    assert list(chart_frame(history, PER_MONTH)["month"]) == ["2024-02", "2024-03", "2024-05"]


def test_an_unknown_asset_is_named_with_the_closest_known_one() -> None:
    history = History(HistoryQuestion("PH693 history", unknown=("ph693",)), [],
                      suggestions={"ph693": "PH639"})
    update = history_answer(history, {})
    assert update.status is AnswerStatus.ABSTAINED and not update.citations
    assert "No work order names PH693 (did you mean PH639?)" in render_answer(update)


def test_stemming_is_safe_when_questions_are_answered_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.answer.history.question import stem

    words = [f"{w}{n}ing" for n in range(2000) for w in ("crack", "leak", "overheat")]
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(stem, words))
    stem.cache_clear()
    assert together == [stem(w) for w in words]


def test_the_search_view_warns_of_a_meaning_only_list_and_a_lower_bound() -> None:
    from app.ui.history import history_summary

    question = HistoryQuestion(text="metal in oil", subject=("metal", "oil"))
    close = [Match(order(str(n), f"oil leak {n}", "PH639"), "meaning", 0.5) for n in range(3)]
    open_list = History(question, close, open_ended=True)
    summary = history_summary(open_list)
    assert summary.startswith("**3+ work order(s)**")
    assert "⚠️ Matched by meaning only: no work order holds every word of “metal oil”" in summary
    assert "⚠️ At least 3:" in summary
    worded = History(question, [Match(order("9", "metal in oil", "PH639"), "words")])
    assert worded.cautions() == [] and history_summary(worded).startswith("**1 work order(s)**")


def test_undated_matches_list_exact_ones_first_then_the_closest_in_meaning() -> None:
    question = HistoryQuestion(text="swing box leaking oil", subject=("swing", "box", "oil"))
    matches = [Match(order("1", "engine oil leak"), "meaning", 0.50),
               Match(order("2", "oil leak swingbox 8"), "meaning", 0.73),
               Match(order("3", "swing box oil leak"), "words", 0.70),
               Match(order("4", "swing box input seal leaking"), "meaning", 0.61)]
    assert [m.order.record_id for m in History(question, matches).grouped()] == [
        "3", "2", "4", "1"]
    dated = [Match(order("5", "a", date="2024-01-01"), "meaning", 0.9),
             Match(order("6", "b", date="2025-01-01"), "meaning", 0.4)]
    assert [m.order.record_id for m in History(question, dated).grouped()] == ["6", "5"]
