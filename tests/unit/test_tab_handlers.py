"""The tabs' handlers as plain methods: called here with a request-like object and the real
SQLite records, no browser and no Gradio server (the browser tests drive the same methods
through the page)."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.records.users import Role
from app.services import Services
from app.settings import Settings
from app.ui.access import Access
from app.ui.ask import BUSY_NOTE, CONVERSATION, AskHandlers
from app.ui.documents import DocumentsHandlers

pytestmark = pytest.mark.unit


@dataclass
class Request:
    """What the handlers read of gr.Request."""

    username: str | None = None
    session_hash: str = "s1"
    query_params: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return Services(Settings(data_dir=tmp_path / "data"))


def test_accept_keeps_typing_while_an_answer_streams(services: Services) -> None:
    on = AskHandlers(services, Access(services.users, single_user=True))
    history = [{"role": "user", "content": "q1"}]
    box, shown, pending, busy, note, *_ = on.accept("  next one ", history, True, Request())
    assert (shown, busy, note) == (history, True, BUSY_NOTE)
    assert pending != "next one"  # nothing taken: the text stays in the box
    box, shown, pending, busy, note, *_ = on.accept("   ", history, False, Request())
    assert (pending, busy, note) == ("", False, "Type a question first.")
    box, shown, pending, busy, note, *_ = on.accept(" Why ALARM:2? ", [], False, Request())
    assert (box, pending, busy) == ("", "Why ALARM:2?", True)
    assert shown[-2] == {"role": "user", "content": "Why ALARM:2?"}


def test_incidents_are_the_owners_alone(services: Services) -> None:
    services.users.add("anna", Role.OPERATOR, "a-long-passphrase-1")
    services.users.add("bert", Role.OPERATOR, "a-long-passphrase-2")
    on = AskHandlers(services, Access(services.users, single_user=False))
    anna, bert = Request("anna"), Request("bert")
    assert on.rename_incident(None, "pump", anna)[1].startswith("Ask a question first")
    number = services.incidents.save("anna", None, "P-101 trips", {"messages": []})
    assert on.rename_incident(number, "Pump P-101", anna)[1] == "Renamed to “Pump P-101”."
    opened = on.open_incident(number, bert)  # another operator's incident: not opened
    assert len(opened) == len(CONVERSATION)
    assert opened[CONVERSATION.index("incident_note")].startswith("That incident is not")
    assert [i["title"] for i in on.incidents(anna)] == ["Pump P-101"]
    assert on.incidents(bert) == []


def test_comments_need_an_answer(services: Services) -> None:
    on = AskHandlers(services, Access(services.users, single_user=True))
    assert on.add_comment("good", {}, -1, Request()) == (
        "good", "Ask a question first: comments go with an answer.")
    assert on.add_comment("  ", {}, -1, Request())[1] == "Write a comment first."


def test_documents_handlers_refuse_other_roles(services: Services) -> None:
    services.users.add("olga", Role.OPERATOR, "a-long-passphrase-3")
    on = DocumentsHandlers(services, Access(services.users, single_user=False))
    with pytest.raises(Exception, match="operator role cannot"):
        on.remove_document("manual.pdf", Request("olga"))
    with pytest.raises(Exception, match="not signed in"):
        on.ask_to_remove("manual.pdf", Request(None))


def test_a_reopened_incident_shows_its_sources_and_the_page_it_quoted(services: Services) -> None:
    # Before issue 30: the sources list came back empty while the page of the answer before
    # lingered beside it.
    from app.ui.conversation import AnswerRecord, conversation_to_json
    from ingest.contract import Chunk, DocType

    chunks = [Chunk(text=f"Step {n}: unlock with $X, then re-home.", file="grbl.md",
                    file_sha256="s", doc_type=DocType.MANUAL, chunk_index=n, section=f"S{n}")
              for n in (1, 2)]
    record = AnswerRecord("Why ALARM:2?", chunks, ["[1] grbl.md, S1", "[2] grbl.md, S2"],
                          {2: "Step 2: unlock with $X, then re-home."})
    history = [{"role": "user", "content": "Why ALARM:2?"}, {"role": "assistant", "content": "…"}]
    number = services.incidents.save("local", None, "ALARM:2",
                                     conversation_to_json(history, {1: record}))
    on = AskHandlers(services, Access(services.users, single_user=True))
    opened = dict(zip(CONVERSATION, on.open_incident(number, Request()), strict=True))
    assert opened["cited"]["choices"] == record.labels
    assert opened["cited"]["value"] == "[2] grbl.md, S2"  # the quoted one, chosen
    assert opened["showing"] == 1
    assert "Quoted in the answer" in opened["passage"] and "S2" in opened["passage"]


def test_the_thumbs_confirmation_says_which(services: Services) -> None:
    from types import SimpleNamespace

    from app.records.audit import AuditEntry
    from app.ui.conversation import AnswerRecord

    row = services.audit.record(AuditEntry("local", "admin", "ask", "Why ALARM:2?"))
    kept = {1: AnswerRecord("Why ALARM:2?", audit_row=row)}
    on = AskHandlers(services, Access(services.users, single_user=True))
    said, rated = on.rate(kept, SimpleNamespace(index=1, liked=False), Request())
    assert said == "Thanks: “not helpful” stored with the answer to “Why ALARM:2?”."
    assert rated == 1


def test_search_results_as_phone_cards_keep_every_column_in_one_line() -> None:
    from app.ui.search import result_cards, result_table
    from ingest.contract import Chunk, DocType

    page = Chunk(text="Homing fail.", file="grbl.pdf", file_sha256="s", doc_type=DocType.MANUAL,
                 chunk_index=0, page=4)
    order = Chunk(text="Replaced limit switch.", file="orders.csv", file_sha256="t",
                  doc_type=DocType.LOG, chunk_index=0, record_id="WO-7", date="2026-01-05")
    table = result_table([page, order],
                         ["Homing will fail if switch isn't cleared.", "Replaced limit switch."])
    assert result_cards(table) == [
        ("[1] grbl.pdf · p. 4 — Homing will fail if switch isn't cleared.", "0"),
        ("[2] orders.csv · WO-7 · 2026-01-05 — Replaced limit switch.", "1")]


def test_history_cards_on_a_phone_say_each_order_in_one_line_and_cap_the_list() -> None:
    from app.ui.history import history_cards

    row = ["QR0218", "WO-1", "2026-01-05", "A/C compressor changed out", "–", "compressor",
           "asset and words"]
    assert history_cards([row]) == [
        ("WO-1 · QR0218 · 2026-01-05 — A/C compressor changed out (compressor) "
         "[asset and words]", "0")]
    undated = ["QR0218", "WO-2", "–", "Aircon leaking", "–", "–", "asset"]
    assert history_cards([undated]) == [("WO-2 · QR0218 — Aircon leaking [asset]", "0")]
    cards = history_cards([row] * 130)
    assert len(cards) == 101 and cards[-1] == (
        "… 30 more: narrow with words or a component (a wider screen lists them all)", "more")
