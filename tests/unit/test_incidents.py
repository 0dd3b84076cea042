"""Incidents are kept per user: saved, listed, reopened, renamed, deleted, and never reached
by another user's id guess."""

import json
from pathlib import Path

from app.answer.answering import AnswerStatus, AnswerUpdate, Quote
from app.answer.rendering import render_answer
from app.records.database import Database
from app.records.incidents import IncidentStore, title_from
from app.ui.ask import example_questions
from app.ui.conversation import conversation_from_json, conversation_to_json, record_of
from tests.unit.test_answer_rendering import citation


def test_each_user_reaches_only_their_own_incidents(tmp_path: Path) -> None:
    store = IncidentStore(Database.in_file(tmp_path / "records.sqlite3"))
    mine = store.save("op", None, "grbl keeps throwing ALARM:2", {"messages": [1]})
    theirs = store.save("tech", None, "press guard", {"messages": [2]})
    assert store.save("op", mine, "ignored once named", {"messages": [1, 3]}) == mine
    assert store.load("op", mine) == {"messages": [1, 3]}
    assert [i.title for i in store.list("op")] == ["grbl keeps throwing ALARM:2"]
    # another user's id opens, renames and deletes nothing, and saving over it makes a new one
    assert store.load("op", theirs) is None
    assert not store.rename("op", theirs, "mine now") and not store.delete("op", theirs)
    assert store.save("op", theirs, "hijack", {"messages": []}) not in (mine, theirs)
    assert store.load("tech", theirs) == {"messages": [2]}
    assert store.rename("op", mine, "  ALARM:2 on line 3  ")
    assert store.list("op")[-1].title == "ALARM:2 on line 3"
    assert store.delete("op", mine) and store.load("op", mine) is None


def test_titles_are_one_line_and_bounded() -> None:
    assert title_from("a\nb   c") == "a b c"
    assert len(title_from("x" * 500)) == 80 and title_from("x" * 500).endswith("…")


def test_a_conversation_survives_the_round_trip_with_its_sources_and_quotes() -> None:
    update = AnswerUpdate("Check it [1].", [citation(1), citation(2, "Max travel.")],
                          AnswerStatus.COMPLETE, quotes=[Quote(2, "Max travel.")])
    history = [{"role": "user", "content": "q"},
               {"role": "assistant", "content": render_answer(update, 1)}]
    records = {1: record_of("q", update, row=7)}
    stored = json.loads(json.dumps(conversation_to_json(history, records)))  # as SQLite keeps it
    assert conversation_from_json(stored) == (history, records)


def test_example_questions_name_codes_the_documents_explain_one_per_kind() -> None:
    examples = example_questions(["alarm:5", "alarm:1", "error:9", "error:10"])
    assert [e["text"] for e in examples] == [
        "What does ALARM:5 mean and what should I check?",
        "What does ERROR:9 mean and what should I check?"]
    assert example_questions([]) == []


def test_messages_are_stored_as_text_whatever_shape_the_page_sent() -> None:
    history = [{"role": "user", "content": [{"type": "text", "text": "ALARM:9?"}]},
               {"role": "assistant", "content": "See [1]."}]
    stored = conversation_to_json(history, {})
    assert stored["messages"] == [{"role": "user", "content": "ALARM:9?"},
                                  {"role": "assistant", "content": "See [1]."}]


def test_incidents_of_one_first_question_get_names_apart(tmp_path: Path) -> None:
    # Before issue 30: a fault that came back made a second incident of the same name.
    store = IncidentStore(Database.in_file(tmp_path / "records.sqlite3"))
    for _ in range(3):
        store.save("anna", None, "P-101 trips on start", {"messages": []})
    store.save("bert", None, "P-101 trips on start", {"messages": []})
    assert sorted(i.title for i in store.list("anna")) == [
        "P-101 trips on start", "P-101 trips on start (2)", "P-101 trips on start (3)"]
    assert [i.title for i in store.list("bert")] == ["P-101 trips on start"]  # per user
