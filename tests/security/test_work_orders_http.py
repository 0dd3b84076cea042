"""Work orders over raw HTTP, each endpoint called as a script would: an operator drafts from
their own incident only and cannot confirm or export; nobody sees another operator's draft; a
technician confirming a draft someone confirmed meanwhile is told who did; a quote from a
document the reader may not read is not shown to them. The incidents are seeded in the UI's
own records database (an answered question, as the Ask tab saves it): this UI has no model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import pytest

from app.records.database import Database
from app.records.incidents import IncidentStore
from tests.security.conftest import call, sign_in_http

GRBL = "grbl_alarm_and_error_codes.pdf"
WORK_ORDERS = "work_orders_sample.csv"


def call_as(ui, name: str, *data: object) -> list:  # type: ignore[no-untyped-def,type-arg]
    """One call in a fresh session (this UI's sessions end after 8 idle seconds)."""
    return call(sign_in_http(ui.url, name), *data)


def chunk(file: str, text: str, doc_type: str = "manual") -> dict[str, object]:
    return {"text": text, "file": file, "file_sha256": "0" * 64, "doc_type": doc_type,
            "chunk_index": 0, "page": 1}


def seed_incident(ui, user: str, question: str) -> int:  # type: ignore[no-untyped-def]
    """An incident of ``user`` with one answer quoting the grbl manual and a work order."""
    answer = {"question": question, "audit_row": None,
              "labels": [f"[1] {GRBL}, page 1", f"[2] {WORK_ORDERS}, record company_b-train-4011"],
              "quotes": {"1": "Hard limit has been triggered.",
                         "2": "QR0218 F ACC C/O BLOWN TRACK TENSION"},
              "safety": [[1, "WARNING: keep clear of the spindle while homing."]],
              "chunks": [chunk(GRBL, "1 Hard limit Hard limit has been triggered."),
                         chunk(WORK_ORDERS, "QR0218 F ACC C/O BLOWN TRACK TENSION", "log")]}
    conversation = {"messages": [{"role": "user", "content": question},
                                 {"role": "assistant", "content": "(answer)"}],
                    "answers": {"1": answer}}
    return IncidentStore(Database.in_file(ui.data / "records.sqlite3")).save(
        user, None, question, conversation)


@contextmanager
def fleet_only(ui) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The work-order export in 'fleet' (admins only) for a while, put back after."""
    try:
        assert "is now in fleet" in call_as(ui, "boss", "set_collection", WORK_ORDERS,
                                            "fleet")[0]
        yield
    finally:
        call_as(ui, "boss", "set_collection", WORK_ORDERS, "")


def test_roles_over_http_draft_confirm_export_and_see_only_what_they_may(  # type: ignore[no-untyped-def]
        guarded_ui) -> None:
    op, other, tech, boss = (partial(call_as, guarded_ui, name)
                             for name in ("op", "op2", "tech", "boss"))
    incident = seed_incident(guarded_ui, "op", "QR0218 ALARM:1 after the door was opened")
    draft = op("draft_work_order", incident)[0]
    assert (draft["asset"], draft["codes"], draft["status"]) == ("QR0218", ["ALARM:1"], "draft")
    assert [d["source"] for d in draft["documents"]] == [
        f"{GRBL}, page 1", f"{WORK_ORDERS}, record company_b-train-4011"]
    assert draft["safety"] == [{"text": "WARNING: keep clear of the spindle while homing.",
                                "source": f"{GRBL}, page 1"}]
    # another operator: neither the draft nor a draft of op's incident
    assert all(o["number"] != draft["number"] for o in other("work_orders")[0])
    with pytest.raises(RuntimeError, match="a saved incident \\(one of yours\\)"):
        other("draft_work_order", incident)
    with pytest.raises(RuntimeError, match="is not among those you may see"):
        other("confirm_work_order", draft["number"], draft["version"])
    # the operator drafts; confirming and exporting are a technician's
    with pytest.raises(RuntimeError, match="The operator role does not confirm"):
        op("confirm_work_order", draft["number"], draft["version"])
    with pytest.raises(RuntimeError, match="The operator role does not export"):
        op("export_work_orders")
    # rights change after the draft: the work orders become admins-only. The technician
    # sees the draft minus that quote; confirming keeps it; the admin sees it whole.
    with fleet_only(guarded_ui):
        seen = next(o for o in tech("work_orders")[0] if o["number"] == draft["number"])
        assert [d["source"] for d in seen["documents"]] == [f"{GRBL}, page 1"]
        confirmed = tech("confirm_work_order", draft["number"], draft["version"])[0]
        assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "tech"
        # a second confirmation, made on the version read before: told, not applied
        with pytest.raises(RuntimeError, match=f"{draft['number']} was confirmed by tech at"):
            boss("confirm_work_order", draft["number"], draft["version"])
        kept = next(o for o in boss("work_orders")[0] if o["number"] == draft["number"])
        assert len(kept["documents"]) == 2
        # the operator's own incident, drafted again: its question, not the withheld quotes
        again = op("draft_work_order", incident)[0]
        assert again["asset"] == "QR0218" and again["documents"] == []
    files = tech("export_work_orders")[0]
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["csv", "json"]
    with pytest.raises(RuntimeError, match="Nothing to export"):
        tech("export_work_orders")


def test_an_unknown_asset_is_said_with_the_closest_known_and_the_draft_kept(  # type: ignore[no-untyped-def]
        guarded_ui) -> None:
    incident = seed_incident(guarded_ui, "op", "QR0281 aircon blowing warm")
    draft = call_as(guarded_ui, "op", "draft_work_order", incident)[0]
    assert draft["asset"] == "QR0281" and draft["status"] == "draft"
    assert "No work order names the asset QR0281. Closest known: QR0218" in draft["note"]
    assert any(o["number"] == draft["number"]
               for o in call_as(guarded_ui, "op", "work_orders")[0])
