"""Accounts, roles and the audit log: what the server enforces on every request."""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from app.records.audit import WITHHELD, AuditEntry, AuditLog
from app.records.database import Database
from app.records.users import LOCAL_USER, Permission, Role, UserError, UserStore
from app.settings import UISettings
from app.ui.access import Access


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    return UserStore(Database.in_file(tmp_path / "records.sqlite3"))


def test_passwords_are_hashed_and_checked(users: UserStore, tmp_path: Path) -> None:
    users.add("Ana", Role.TECHNICIAN, "correct horse")
    assert users.verify("ana", "correct horse") == users.get("ana")
    assert users.verify("ana", "wrong password") is None
    assert users.verify("nobody", "correct horse") is None
    assert not any(b"correct horse" in f.read_bytes() for f in tmp_path.glob("records.*"))
    users.set_password("ana", "battery staple")
    assert users.verify("ana", "correct horse") is None
    assert users.verify("ana", "battery staple") is not None


@pytest.mark.parametrize(("name", "password", "message"), [
    ("bob", "short", "too short"),
    ("../bob", "long enough", "invalid user name"),
    ("", "long enough", "invalid user name"),
])
def test_bad_accounts_are_refused_with_the_reason(users: UserStore, name: str, password: str,
                                                  message: str) -> None:
    with pytest.raises(UserError, match=message):
        users.add(name, Role.OPERATOR, password)


def test_duplicate_and_unknown_users_say_what_to_do(users: UserStore) -> None:
    users.add("bob", Role.OPERATOR, "long enough")
    with pytest.raises(UserError, match="passwd"):
        users.add("bob", Role.ADMIN, "long enough")
    with pytest.raises(UserError, match="users list"):
        users.remove("carol")


def request_as(name: str | None) -> SimpleNamespace:
    return SimpleNamespace(username=name)


def test_roles_are_checked_on_the_server(users: UserStore) -> None:
    users.add("tech", Role.TECHNICIAN, "long enough")
    users.add("op", Role.OPERATOR, "long enough")
    access = Access(users, single_user=False)
    assert access.require(request_as("tech"), Permission.SEARCH).name == "tech"
    with pytest.raises(gr.Error, match="technician role cannot use 'admin'"):
        access.require(request_as("tech"), Permission.ADMIN)
    with pytest.raises(gr.Error, match="operator role cannot use 'search'"):
        access.require(request_as("op"), Permission.SEARCH)
    with pytest.raises(gr.Error, match="not signed in"):
        access.require(request_as(None), Permission.ASK)
    users.remove("tech")  # a removed user's open session loses access at once
    with pytest.raises(gr.Error, match="not signed in"):
        access.require(request_as("tech"), Permission.ASK)


def test_single_user_mode_is_the_local_admin_and_only_default_on_loopback(
        users: UserStore) -> None:
    assert Access(users, single_user=True).require(request_as(None), Permission.ADMIN) \
        == LOCAL_USER
    assert UISettings().single_user()
    assert not UISettings(host="0.0.0.0").single_user()
    assert not UISettings(host="10.1.2.3").single_user()
    assert UISettings(host="0.0.0.0", auth="single-user").single_user()
    assert not UISettings(auth="login").single_user()


def test_audit_keeps_answers_feedback_and_exports_safe_csv(tmp_path: Path) -> None:
    log = AuditLog(Database.in_file(tmp_path / "records.sqlite3"))
    first = log.record(AuditEntry(user="op", role="operator", action="ask",
                                  question="=HYPERLINK(\"http://x\")", retrieved=["a.pdf, page 1"],
                                  cited=["a.pdf, page 1"], answer="Check the seal [1].",
                                  status="complete", model="m", first_token_s=0.5, total_s=2.0))
    assert log.set_feedback(first, "op", "down", "wrong page")
    assert not log.set_feedback(first, "someone-else", "up")  # only one's own answers
    out = io.StringIO()
    assert log.export_csv(out) == 1
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["question"].startswith("'=")  # a spreadsheet shows it, does not run it
    assert (row["feedback"], row["comment"], row["cited"]) == ("down", "wrong page",
                                                               "a.pdf, page 1")
    assert row["first_token_s"] == "0.5" and row["model"] == "m"


@pytest.mark.parametrize("prefix", ["\u00a0", "\v", "\f", "\u200b", "\ufeff", "\u3000", ""])
@pytest.mark.parametrize("sign", ["=", "+", "@", "＝"])
def test_formulas_behind_invisible_characters_are_defused(tmp_path: Path, prefix: str,
                                                          sign: str) -> None:
    # Before: a no-break space, vertical tab, form feed, zero-width space, BOM or a
    # full-width ＝ in front of the formula let it through to the spreadsheet.
    log = AuditLog(Database.in_file(tmp_path / "records.sqlite3"))
    log.record(AuditEntry("op", "operator", "search", f"{prefix}{sign}HYPERLINK(\"x\")"))
    out = io.StringIO()
    log.export_csv(out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["question"].startswith("'")


def test_utf16_cut_short_is_named_not_a_raw_decode_error() -> None:
    from ingest.errors import SourceError
    from ingest.sources import decode_text

    raw = "Pumpe P-101".encode("utf-16")[:-1]  # BOM, then an odd number of bytes
    with pytest.raises(SourceError, match="starts like UTF-16 text but breaks off"):
        decode_text(raw, "pumpe.txt", [])


def test_with_question_text_off_the_audit_keeps_who_and_sources_not_the_words(
        tmp_path: Path) -> None:
    log = AuditLog(Database.in_file(tmp_path / "records.sqlite3"), keep_text=False)
    entry = log.record(AuditEntry(user="op", role="operator", action="ask",
                                  question="Why does press 4 trip on E-17?",
                                  retrieved=["a.pdf, page 3"], cited=["a.pdf, page 3"],
                                  answer="E-17 means the clutch is worn [1].", status="complete",
                                  flags=["weak evidence"]))
    log.record(AuditEntry(user="op", role="operator", action="sign-in", status="signed in",
                          address="10.1.2.3", account="local"))
    assert log.set_feedback(entry, "op", "up")
    asked, signed = log.rows()[::-1]
    assert "press 4" not in str(asked) and "clutch" not in str(asked)
    assert asked["question"] == asked["answer"] == WITHHELD
    assert (asked["user"], asked["cited"], asked["flags"], asked["feedback"]) == (
        "op", "a.pdf, page 3", "weak evidence", "up")
    assert (signed["action"], signed["address"], signed["account"], signed["question"]) == (
        "sign-in", "10.1.2.3", "local", "")
