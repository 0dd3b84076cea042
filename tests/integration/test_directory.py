"""Directory sign-in against a real OpenLDAP (Debian's slapd, tests/slapd.py) over StartTLS
with a test CA: roles from nested groups, wrong and disabled accounts refused, access lost at
the first request after the revalidation interval, a directory outage said plainly while the
local break-glass admin still signs in — through the guard and Gradio's own sign-in route."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.records.database import Database
from app.records.directory import (
    Directory,
    DirectoryConfig,
    DirectoryUnavailable,
    NotInAGroup,
    dn_key,
)
from app.records.users import Role, User, UserStore
from app.ui.access import DIRECTORY_DOWN, NOT_IN_A_GROUP, Access, SignIn
from tests.slapd import SERVICE_DN, Slapd, group, password, person

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def config(slapd: Slapd, **changes: Any) -> DirectoryConfig:
    """As docs/admin.md's OpenLDAP example: StartTLS with the plant's CA, a service account
    whose password is read from a file, disabled accounts left out by the filter."""
    settings = slapd.settings()
    chosen = DirectoryConfig(
        **{k: v for k, v in settings.items() if k != "bind_password_file"},
        bind_password=slapd.service_password_file.read_text().strip(),
        timeout_s=2.0, revalidate_s=300.0, unreachable_grace_s=3600.0)
    return replace(chosen, **changes)


def who(user: User | None) -> tuple[str, Role] | None:
    return (user.name, user.role) if user else None


def test_the_role_comes_from_the_groups_nested_ones_too(slapd: Slapd) -> None:
    directory = Directory(config(slapd))
    # every group holding the user, nested ones too: what document collections name
    alice = directory.authenticate("alice", password("alice"))
    assert alice is not None and {dn_key(group("shift-a")), dn_key(group("operators"))} \
        <= alice.groups
    assert who(directory.authenticate("alice", password("alice"))) == ("alice", Role.OPERATOR)
    assert who(directory.authenticate("bob", password("bob"))) == ("bob", Role.TECHNICIAN)
    # the mapping's DN is written in another case and spacing: still the same group
    assert who(directory.authenticate("erin", password("erin"))) == ("erin", Role.ADMIN)


@pytest.mark.parametrize("name, given", [
    ("alice", "wrong-password"), ("alice", ""), ("nobody", password("nobody")),
    ("carol", password("carol")),  # disabled: the right password is not enough
    ("*", "x"), ("alice)(uid=*", password("alice")),  # filter injection
])
def test_wrong_unknown_and_disabled_accounts_are_refused(slapd: Slapd, name: str,
                                                         given: str) -> None:
    assert Directory(config(slapd)).authenticate(name, given) is None


def test_an_account_in_no_mapped_group_is_told_so_after_its_password(slapd: Slapd,
                                                                     tmp_path: Path) -> None:
    directory = Directory(config(slapd))
    with pytest.raises(NotInAGroup):
        directory.authenticate("dave", password("dave"))
    access = Access(UserStore(Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")),
                    single_user=False, directory=directory)
    assert access.login("dave", password("dave")) is False
    said = access.outcome("dave")
    assert said and said.refusal == (403, NOT_IN_A_GROUP) and said.account == "directory"
    assert access.login("dave", "wrong") is False
    assert access.outcome("dave") == SignIn(account=None)  # a wrong password: no reason given


def test_someone_taken_out_of_the_group_loses_access_after_the_interval(slapd: Slapd,
                                                                        tmp_path: Path) -> None:
    clock = Clock()
    directory = Directory(config(slapd, revalidate_s=60), clock=clock)
    access = Access(UserStore(Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")),
                    single_user=False, directory=directory)
    assert access.login("BOB", password("bob"))  # signed in as typed, known lower-case
    assert who(access.user_named("BOB")) == ("bob", Role.TECHNICIAN)
    slapd.modify(f"dn: {group('maintenance')}\nchangetype: modify\ndelete: member\n"
                 f"member: {person('bob')}\n")
    try:
        clock.now += 59
        assert who(access.user_named("bob")) == ("bob", Role.TECHNICIAN)  # within the interval
        clock.now += 2
        assert access.user_named("bob") is None  # the first request after it: no access
        assert access.login("bob", password("bob")) is False  # and no way back in
    finally:
        slapd.modify(f"dn: {group('maintenance')}\nchangetype: modify\nadd: member\n"
                     f"member: {person('bob')}\n")


def test_a_disabled_account_loses_access_after_the_interval(slapd: Slapd) -> None:
    clock = Clock()
    directory = Directory(config(slapd, revalidate_s=60), clock=clock)
    assert directory.authenticate("alice", password("alice"))
    slapd.modify(f"dn: {person('alice')}\nchangetype: modify\nadd: employeeType\n"
                 "employeeType: disabled\n")
    try:
        clock.now += 61
        assert directory.current("alice") is None
    finally:
        slapd.modify(f"dn: {person('alice')}\nchangetype: modify\ndelete: employeeType\n")


def test_directory_down_is_said_plainly_and_the_break_glass_admin_signs_in(
        slapd: Slapd, tmp_path: Path) -> None:
    clock = Clock()
    directory = Directory(config(slapd, revalidate_s=60, unreachable_grace_s=600), clock=clock)
    users = UserStore(Database(f"sqlite:///{tmp_path / 'r.sqlite3'}"))
    users.add("breakglass", Role.ADMIN, "break-glass-2026")
    access = Access(users, single_user=False, directory=directory)
    assert access.login("alice", password("alice"))
    slapd.stop()
    try:
        with pytest.raises(DirectoryUnavailable, match="does not answer"):
            directory.authenticate("alice", password("alice"))
        assert access.login("breakglass", "break-glass-2026")  # no directory needed
        assert access.login("alice", password("alice")) is False
        outcome = access.outcome("alice")
        status, message = (outcome and outcome.refusal) or (0, "")
        assert (status, message) == (503, DIRECTORY_DOWN)  # the cause is for IT's log only
        assert f"{slapd.port}" not in message and "Local accounts still can" in message
        # signed in already: the last confirmed role holds through the grace period
        clock.now += 61
        assert who(access.user_named("alice")) == ("alice", Role.OPERATOR)
        clock.now += 600
        assert access.user_named("alice") is None
    finally:
        slapd.start()
    clock.now += 61
    assert who(access.user_named("alice")) == ("alice", Role.OPERATOR)  # back by itself


def test_certificates_are_checked_and_a_wrong_service_password_is_named(
        slapd: Slapd, tmp_path: Path) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(DirectoryUnavailable, match="ca_file"):
        Directory(config(slapd, ca_file=str(other_ca))).authenticate("alice", password("alice"))
    with pytest.raises(DirectoryUnavailable, match="refused the service account") as refused:
        Directory(config(slapd, bind_password="not-it")).authenticate("alice", "x")
    assert "not-it" not in str(refused.value)


def test_doctor_check_binds_looks_up_and_finds_every_mapped_group(slapd: Slapd) -> None:
    said = Directory(config(slapd)).check()
    assert f"bound as {SERVICE_DN}" in said and "accounts found" in said
    typo = group("operatorz")
    with pytest.raises(DirectoryUnavailable, match="operatorz"):
        Directory(config(slapd, roles={typo: "operator"})).check()


def test_sign_in_through_gradio_and_the_guard(slapd: Slapd, tmp_path: Path) -> None:
    """Gradio's own /login route behind the guard, over HTTP: a directory user signs in and
    reaches the page; with the directory down the page hears why (503), not 'wrong
    password', and the failure does not count towards the lock-out."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.middleware import Middleware
    from starlette.testclient import TestClient

    from app.records.audit import AuditLog
    from app.records.sessions import SharedSessions
    from app.records.sign_ins import SharedFailures
    from app.ui.guard import Guard, SignInThrottle

    database = Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    access = Access(UserStore(database), single_user=False, directory=Directory(config(slapd)))
    failures = SharedFailures(database)
    audit = AuditLog(database)
    guard = Middleware(Guard, access=access, grants=access.grants,
                       throttle=SignInThrottle(failures), audit=audit,
                       sessions=SharedSessions(database, idle_s=3600), secure=False,
                       cookie_id="t", health=database.check)
    with gr.Blocks() as demo:
        gr.Markdown("the plant page")
    app = gr.mount_gradio_app(FastAPI(), demo, path="", auth=access.login,
                              app_kwargs={"middleware": [guard]})
    with TestClient(app) as browser:
        signed_in = browser.post("/login", data={"username": "alice",
                                                 "password": password("alice")})
        assert signed_in.status_code == 200, signed_in.text
        assert "the plant page" in browser.get("/config").text
        # as Gradio's own sign-in page posts it: multipart/form-data, counted for that name
        wrong = TestClient(app).post("/login", files={"username": (None, "Alice"),
                                                      "password": (None, "no")})
        assert wrong.status_code == 400
        assert (failures.get("name:alice") or (0,))[0] == 1 and failures.get("name:") is None
        slapd.stop()
        try:
            down = TestClient(app).post("/login", data={"username": "bob",
                                                        "password": password("bob")})
            assert down.status_code == 503 and "cannot sign in now" in down.json()["detail"]
            assert failures.get("name:bob") is None  # not the user's fault: not counted
        finally:
            slapd.start()
    signed = [(r["user"], r["role"], r["status"], r["address"], r["account"])
              for r in reversed(audit.rows()) if r["action"] == "sign-in"]
    assert signed == [("alice", "operator", "signed in", "testclient", "directory"),
                      ("alice", "", "wrong name or password", "testclient", None),
                      ("bob", "", "directory unreachable", "testclient", "directory")]
    assert not any(password("alice") in str(r) or password("bob") in str(r)
                   for r in audit.rows())
