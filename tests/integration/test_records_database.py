"""The records database on both backends: the embedded SQLite file and a real PostgreSQL;
the upgrade from the files the last release made keeps every row; a schema newer than the code
and a wrong or dead database are refused with what to do."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sqlalchemy import text

from app.records.audit import AuditEntry, AuditLog
from app.records.database import Database, DatabaseError
from app.records.incidents import IncidentStore
from app.records.sign_ins import SharedFailures
from app.records.users import Role, UserStore
from app.services import Services
from app.settings import DatabaseSettings, Settings
from tests.conftest import ROOT

RELEASE = "c6c26a3"  # the last commit whose records were per-table SQLite files


def _release_module(path: str, database: types.ModuleType | None = None) -> types.ModuleType:
    """A module of the release, from git history, importable beside today's code."""
    source = subprocess.run(["git", "show", f"{RELEASE}:{path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    if database is not None:
        sys.modules["_release_database"] = database
        source = source.replace("from app.database import", "from _release_database import")
    spec = importlib.util.spec_from_loader(f"_release_{Path(path).stem}", loader=None)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 (our own history)
    return module


def _files_of_the_release(data: Path) -> dict[str, object]:
    """users, audit rows (with feedback) and incidents, written by the release's own code."""
    database = _release_module("app/database.py")
    users = _release_module("app/users.py", database)
    audit = _release_module("app/audit.py", database)
    incidents = _release_module("app/incidents.py", database)
    store = users.UserStore(data / "users.sqlite3")
    store.add("anna", users.Role.ADMIN, "anna-passphrase")
    store.add("olaf", users.Role.OPERATOR, "olaf-passphrase")
    log = audit.AuditLog(data / "audit.sqlite3")
    ids = [log.record(audit.AuditEntry("olaf", "operator", "ask", f"question {n}",
                                       ["a.pdf, page 1"], ["a.pdf, page 1"], "answer",
                                       "complete", flags=["weak evidence"]))
           for n in range(3)]
    log.set_feedback(ids[1], "olaf", "down", "wrong page")
    kept = incidents.IncidentStore(data / "incidents.sqlite3")
    first = kept.save("olaf", None, "P-101 trips on start", {"messages": [1]})
    kept.save("anna", None, "Press guard", {"messages": [2]})
    # every row as the release wrote it, with the sign-in columns added since left empty
    return {"audit": [{**row, "address": None, "account": None} for row in log.rows()],
            "incident": first}


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh data dir on each backend (a database of its own per test)."""
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "sqlite":
        return Settings(data_dir=data)
    postgres = request.getfixturevalue("postgres")
    url = postgres.create_database(f"t{abs(hash(request.node.name)) % 10**8}")
    return Settings(data_dir=data, database=DatabaseSettings(
        url=url, password_file=postgres.password_file))


def test_the_upgrade_from_the_release_keeps_every_row(settings: Settings) -> None:
    made = _files_of_the_release(settings.data_dir)
    services = Services(settings)
    assert services.users.verify("anna", "anna-passphrase").role is Role.ADMIN
    assert services.users.verify("olaf", "olaf-passphrase").role is Role.OPERATOR
    assert services.audit.rows() == made["audit"]  # ids, times, feedback, flags: all of it
    assert services.incidents.load("olaf", made["incident"]) == {"messages": [1]}
    assert [i.title for i in services.incidents.list("anna")] == ["Press guard"]
    for name in ("users", "audit", "incidents"):
        assert not (settings.data_dir / f"{name}.sqlite3").exists()
        assert (settings.data_dir / f"{name}.sqlite3.imported").is_file()
    # new rows continue after the imported ids (PostgreSQL's sequences were moved past them)
    new = services.audit.record(AuditEntry("olaf", "operator", "ask", "after the upgrade"))
    assert new == max(r["id"] for r in made["audit"]) + 1
    again = Services(settings)  # a restart imports nothing twice
    assert again.audit.count() == 4 and again.users.count() == 2


def test_processes_starting_together_upgrade_and_import_once(settings: Settings) -> None:
    """Four replicas (or `ui` and `ingest`) opening a fresh database at the same moment, with
    the release's files beside them. Before: each ran the migration (PostgreSQL: "relation
    already exists", SQLite: "database is locked") and each imported the files (duplicate
    ids), so all but one failed to start."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    made = _files_of_the_release(settings.data_dir)
    url = settings.database.url or f"sqlite:///{settings.data_dir / 'records.sqlite3'}"
    password = settings.database.password()
    together = threading.Barrier(4)

    def start(_: int) -> dict[str, int]:
        together.wait(timeout=60)
        database = Database(url, password=password)
        return database.import_legacy(settings.data_dir)

    with ThreadPoolExecutor(4) as pool:  # a deadlock fails the test, not the whole run
        imported = [f.result(timeout=120) for f in [pool.submit(start, n) for n in range(4)]]
    assert sum(i.get("audit.sqlite3", 0) for i in imported) == len(made["audit"])
    assert AuditLog(Database(url, password=password)).rows() == made["audit"]


def test_the_stores_behave_alike_on_both_backends(settings: Settings) -> None:
    database = Services(settings).database
    users, log, kept = UserStore(database), AuditLog(database), IncidentStore(database)
    users.add("Bea", Role.TECHNICIAN, "bea-passphrase")
    assert users.get("bea").role is Role.TECHNICIAN
    with pytest.raises(ValueError, match="already exists"):
        users.add("bea", Role.ADMIN, "another-passphrase")
    row = log.record(AuditEntry("Bea", "technician", "search", "=cmd|' /C calc'!A0"))
    assert log.set_feedback(row, "Bea", "up") and not log.set_feedback(row, "olaf", "down")
    assert [r["question"] for r in log.rows(user="bea")] == ["=cmd|' /C calc'!A0"]
    mine = kept.save("bea", None, "x" * 200, {"m": 1})
    assert kept.load("olaf", mine) is None and kept.rename("bea", mine, "Renamed")
    assert kept.list("bea")[0].title == "Renamed"


def test_failed_sign_ins_are_counted_once_across_threads(settings: Settings) -> None:
    """Each failure is one atomic upsert: 8 threads (two replicas' worth) failing the same
    name 40 times in all leave a count of 40, on either backend."""
    from concurrent.futures import ThreadPoolExecutor

    failures = SharedFailures(Services(settings).database)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: failures.add("name:anna", 1000.0 + n, 900), range(40)))
    count, last = failures.get("name:anna")  # type: ignore[misc]
    assert count == 40 and last >= 1000.0
    failures.add("name:anna", 5000.0, 900)  # quiet for longer than 900 s: from one again
    assert failures.get("name:anna") == (1, 5000.0)


def test_a_schema_newer_than_the_code_is_refused(settings: Settings) -> None:
    database = Services(settings).database
    with database.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(DatabaseError, match="revision 0999, newer than this version of "
                                            "PlantOps knows \\(its newest: 0005\\)"):
        Services(settings).database  # noqa: B018


def test_a_wrong_or_dead_database_is_named_without_its_password(postgres, tmp_path: Path
                                                                ) -> None:  # type: ignore[no-untyped-def]
    dead = f"postgresql+psycopg://plantops@127.0.0.1:{postgres.port + 1}/plantops"
    with pytest.raises(DatabaseError) as refused:
        Database(dead, password="pl4nt-db-secret")
    said = str(refused.value)
    assert f"127.0.0.1:{postgres.port + 1}/plantops cannot be opened" in said
    assert "pl4nt-db-secret" not in said and "database.url" in said
    with pytest.raises(DatabaseError, match="password authentication failed"):
        Database(postgres.url(), password="wrong")


def test_a_database_lost_while_the_ui_runs_is_said_and_comes_back(postgres) -> None:  # type: ignore[no-untyped-def]
    """The records database refuses connections while the UI runs (a failover, a restart),
    caused for real: PostgreSQL stops admitting the database and ends its connections.
    Before: every request answered 500 "Internal Server Error" (a traceback in the log)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.records.sessions import SharedSessions
    from app.ui.access import Access
    from app.ui.guard import UNREACHABLE_TEXT, Guard, SignInThrottle

    url = postgres.create_database("outage")
    database = Database(url, password=postgres.password_file.read_text())
    users = UserStore(database)
    users.add("anna", Role.OPERATOR, "anna-passphrase")
    access = Access(users, single_user=False)
    sessions = SharedSessions(database, idle_s=3600)
    page = Starlette(routes=[Route("/", lambda request: PlainTextResponse("the page"))],
                     middleware=[Middleware(Guard, access=access, grants=access.grants,
                                            throttle=SignInThrottle(SharedFailures(database)),
                                            audit=AuditLog(database),
                                            sessions=sessions, secure=False, cookie_id="t",
                                            health=database.check)])
    page.tokens = {}  # type: ignore[attr-defined]  # as on Gradio's app, before the guard
    sessions["token-of-anna"] = "anna"
    browser = TestClient(page, cookies={"access-token-t": "token-of-anna"})
    assert browser.get("/").text == "the page"

    postgres.sql("ALTER DATABASE outage ALLOW_CONNECTIONS false")
    postgres.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE datname = 'outage'")
    try:
        for refused in (browser.get("/"), browser.post("/login", data={
                "username": "anna", "password": "anna-passphrase"})):
            assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
            assert refused.json()["detail"] == UNREACHABLE_TEXT
        health = browser.get("/healthz")
        assert health.status_code == 503 and "outage" in health.json()["detail"]
    finally:
        postgres.sql("ALTER DATABASE outage ALLOW_CONNECTIONS true")
    assert browser.get("/").text == "the page"  # back, still signed in, no restart


def test_of_many_confirmations_of_one_draft_at_once_one_wins(settings: Settings) -> None:
    """On both backends: eight technicians confirm one draft at the same moment; one
    confirmation is applied, seven are told who won, the draft's version moved once."""
    import threading

    from app.records.users import Role, User
    from app.records.work_orders import WorkOrderConflict, WorkOrderFields

    store = Services(settings).work_order_store
    draft = store.create(User("op", Role.OPERATOR), None, WorkOrderFields("PH639", "leaks"))
    start, results = threading.Barrier(8), []

    def confirm(n: int) -> None:
        start.wait()
        try:
            store.confirm(User(f"tech{n}", Role.TECHNICIAN), draft.id, draft.version,
                          draft.fields)
            results.append("won")
        except WorkOrderConflict as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=confirm, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = store.get(User("tech0", Role.TECHNICIAN), draft.id)
    assert final is not None and final.version == 2 and results.count("won") == 1
    assert all(f"was confirmed by {final.confirmed_by} at" in r for r in results if r != "won")
