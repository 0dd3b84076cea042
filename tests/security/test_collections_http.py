"""Document collections over raw HTTP, each Gradio endpoint called as a script would: a user
whose role may not read a collection gets no passage, source, history row, count or search
hit of its documents — and the not-found answer is the one a document that does not exist
gets. The admin's own endpoint puts the documents there; operators cannot call it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from functools import partial

import pytest

from tests.security.conftest import call, sign_in_http

WORK_ORDERS = "work_orders_sample.csv"
OSHA = "osha_3170_safeguarding_equipment_amputations.pdf"
PRESS_QUESTION = "How must a mechanical power press be safeguarded at the point of operation?"


def call_as(ui, name: str, *data: object) -> list:  # type: ignore[no-untyped-def,type-arg]
    """One call in a fresh session of ``name``: sessions of this UI end after 8 idle seconds,
    and one slow answer on a busy machine would otherwise end the next call's."""
    return call(sign_in_http(ui.url, name), *data)


def names(text: object, file: str) -> bool:
    """Whether an answer or a result names ``file`` (Markdown escapes its underscores)."""
    return file in str(text).replace("\\_", "_")


@pytest.fixture
def restricted(guarded_ui) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The work orders in 'fleet' (admins only), the OSHA guide in 'safety' (technicians),
    for one test; put back into no collection afterwards, whatever happened."""
    try:
        for name, collection in ((WORK_ORDERS, "fleet"), (OSHA, "safety")):
            said = call_as(guarded_ui, "boss", "set_collection", name, collection)[0]
            assert f"is now in {collection}" in said
        yield
    finally:
        for name in (WORK_ORDERS, OSHA):
            call_as(guarded_ui, "boss", "set_collection", name, "")


def test_nobody_but_an_admin_may_put_documents_into_collections(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    for name in ("op", "tech"):
        with pytest.raises(RuntimeError, match="cannot use 'admin'"):
            call(sign_in_http(guarded_ui.url, name), "set_collection", WORK_ORDERS, "fleet")
    said = call(sign_in_http(guarded_ui.url, "boss"), "set_collection", WORK_ORDERS, "flet")[0]
    assert "no collection 'flet' is defined (defined: fleet, safety)" in said


def test_a_restricted_user_reaches_nothing_of_a_collection_by_any_endpoint(  # type: ignore[no-untyped-def]
        guarded_ui, restricted) -> None:
    tech, op, boss = (partial(call_as, guarded_ui, name) for name in ("tech", "op", "boss"))
    # work-order history: no row, no count, and the answer an unknown asset gets
    summary, _chart, table, *_ = tech("history", "QR0218", "", "", "per asset")
    unknown, *_ = tech("history", "QZ0000", "", "", "per asset")
    assert table["data"] == [] and summary.replace("QR0218", "QZ0000") == unknown
    assert tech("history", "", "track tension", "", "per asset")[2]["data"] == []
    # search: no hit; a filter naming the file finds what a missing file finds
    _note, results, *_ = tech("search", "QR0218 track tension", "all", "all", "", "", "")
    assert results["value"]["data"] and not names(results, WORK_ORDERS)
    assert tech("search", "track tension", "all", WORK_ORDERS, "", "", "")[0] == \
        tech("search", "track tension", "all", "no_such.csv", "", "", "")[0]
    # answers: no passage, source or quote of a hidden document
    history_answer = tech("ask", "What has been done on QR0218?")[-1]
    assert "Not found in the documents" in history_answer and "mention QR0218" in history_answer
    assert "company" not in history_answer  # no record id of the export
    press = op("ask", PRESS_QUESTION)[-1]
    assert not names(press, OSHA) and "osha" not in press.lower()
    # a reader of the collection still gets it
    assert names(tech("ask", PRESS_QUESTION)[-1], OSHA)
    assert "138 work orders** on QR0218" in boss("ask", "What has been done on QR0218?")[-1]


def test_taking_a_document_out_of_its_collection_opens_it_at_the_next_request(  # type: ignore[no-untyped-def]
        guarded_ui, restricted) -> None:
    assert not names(call_as(guarded_ui, "op", "ask", PRESS_QUESTION)[-1], OSHA)
    call_as(guarded_ui, "boss", "set_collection", OSHA, "")
    assert names(call_as(guarded_ui, "op", "ask", PRESS_QUESTION)[-1], OSHA)


def test_a_page_image_of_a_hidden_document_is_refused_by_its_address(  # type: ignore[no-untyped-def]
        guarded_ui) -> None:
    """A page image's address, seen before a right was withdrawn (or passed on), no longer
    serves it: Gradio's file route is checked against the reader's collections."""
    from app.answer.preview import PagePreviews
    from ingest.originals import OriginalStore

    with sqlite3.connect(guarded_ui.data / "manifest.sqlite3") as db:
        [(sha,)] = db.execute("SELECT sha256 FROM sources WHERE file = ?", (OSHA,)).fetchall()
    image = PagePreviews(OriginalStore(guarded_ui.data / "originals"),
                         guarded_ui.data / "previews").page_image(OSHA, sha, 3)
    address = f"/gradio_api/file={image}"
    assert sign_in_http(guarded_ui.url, "op").get(address).status_code == 200
    boss = sign_in_http(guarded_ui.url, "boss")
    try:
        call(boss, "set_collection", OSHA, "safety")
        refused = sign_in_http(guarded_ui.url, "op").get(address)
        assert refused.status_code == 403 and b"PNG" not in refused.content
        assert sign_in_http(guarded_ui.url, "tech").get(address).status_code == 200
        assert sign_in_http(guarded_ui.url, "boss").get(address).status_code == 200
    finally:
        call(sign_in_http(guarded_ui.url, "boss"), "set_collection", OSHA, "")
