"""Accounts, roles and the audit log: what the server enforces on every request."""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from app.audit import AuditEntry, AuditLog
from app.settings import UISettings
from app.ui.access import Access
from app.users import LOCAL_USER, Permission, Role, UserError, UserStore


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "users.sqlite3")


def test_passwords_are_hashed_and_checked(users: UserStore, tmp_path: Path) -> None:
    users.add("Ana", Role.TECHNICIAN, "correct horse")
    assert users.verify("ana", "correct horse") == users.get("ana")
    assert users.verify("ana", "wrong password") is None
    assert users.verify("nobody", "correct horse") is None
    assert b"correct horse" not in (tmp_path / "users.sqlite3").read_bytes()
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
    log = AuditLog(tmp_path / "audit.sqlite3")
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
