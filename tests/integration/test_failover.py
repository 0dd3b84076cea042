"""A node dies under load and nothing is lost (issue 27), with real processes on loopback:
PostgreSQL (the records), a `chroma run` server (the vectors), a shared data folder (manifest,
work orders, BM25: written by ingest, read by the UIs), two `plantops ui` replicas behind
HAProxy with the shipped configuration (deploy/haproxy/plantops.cfg), and 20 operators asking
through HAProxy for a bounded time. Mid-run one UI replica is SIGKILLed, a new document is
ingested, and the killed replica is started again, as a supervisor would.

Counted: answers without their audit row (0), incidents missing (0), users asked to sign in
again (0), requests that failed (printed; at most the ones in flight on the killed replica),
and the seconds until each replica cites the new document. No model server: answers are the
retrieval-only ones (their audit rows are written the same way); the model replicas' own
failover is the router's (docs/operations.md)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.records.database import Database, audit
from app.records.incidents import IncidentStore
from app.records.users import Role, UserStore
from tests.conftest import ROOT, SAMPLES, free_port
from tests.postgres import Postgres

USERS = 20
RUN_S = 40.0  # the load runs at least this long (on until the restarted replica is back)
KILL_AT_S = 10.0  # after the start of the load
CITE_WITHIN_S = 30.0  # a replica cites a newly ingested document within this
# An operator reads an answer before asking the next question (seconds). Without a pause the
# 20 threads asked ~7 questions a second and kept both cores of a CI machine busy: the ingest
# and the replica's restart that the test is about then took minutes. (3-8 s pauses found a
# keep-alive race in the balancer's configuration: see deploy/haproxy/plantops.cfg.)
THINK_S = (1.0, 4.0)
PLANTOPS = str(ROOT / ".venv/bin/plantops")
# Questions the sample manuals answer (retrieval finds them; the model is down here, so the
# answer is the quoted passages); each asked one is marked with letters only (digits would
# read as an identifier the index lacks, and the question would be declined unasked).
QUESTIONS = ["Homing fail: what should I check?", "soft limit alarm after homing, what now?",
             "grbl hard limit triggered, what do I do?",
             "What does ALARM:2 mean and what should I check?"]
NEW_DOC = "# Kiln K-9 burner\nFlame rod fault F-731: clean the flame rod with emery cloth.\n"


def _wait(url: str, proc: subprocess.Popen[bytes] | None, what: str, timeout: float = 120
          ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{what} did not answer {url} within {timeout:.0f} s")


@dataclass
class Stack:
    env: dict[str, str]
    lb: str
    ui_ports: list[int]
    ui: list[subprocess.Popen[bytes]]
    logs: Path
    database: Database

    def launch_ui(self, index: int) -> subprocess.Popen[bytes]:
        env = {**self.env, "PLANTOPS_UI__PORT": str(self.ui_ports[index])}
        with (self.logs / f"ui{index + 1}.log").open("ab") as log:
            return subprocess.Popen([PLANTOPS, "ui"], env=env, cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT)

    def wait_ui(self, index: int, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        # ready = warmed up (embedding model, index): under load that takes a while
        _wait(f"http://127.0.0.1:{self.ui_ports[index]}/healthz", proc, f"UI {index + 1}",
              timeout=240)
        return proc

    def start_ui(self, index: int) -> subprocess.Popen[bytes]:
        return self.wait_ui(index, self.launch_ui(index))


@pytest.fixture
def stack(postgres: Postgres, tmp_path: Path) -> Iterator[Stack]:
    started: list[subprocess.Popen[bytes]] = []
    chroma_port = free_port()
    started.append(subprocess.Popen(
        [str(ROOT / ".venv/bin/chroma"), "run", "--path", str(tmp_path / "chroma"), "--host",
         "127.0.0.1", "--port", str(chroma_port)], stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT))
    _wait(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", started[-1], "chroma run")
    url = postgres.create_database("failover")
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(tmp_path / "shared-data"),
           "PLANTOPS_DATABASE__URL": url,
           "PLANTOPS_DATABASE__PASSWORD_FILE": str(postgres.password_file),
           "PLANTOPS_INGEST__INDEX__CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
           "PLANTOPS_UI__AUTH": "login", "PLANTOPS_UI__HOST": "127.0.0.1",
           "PLANTOPS_SERVING__BASE_URLS": json.dumps([f"http://127.0.0.1:{free_port()}/v1"])}
    subprocess.run([PLANTOPS, "ingest", str(SAMPLES)], env=env, check=True,
                   capture_output=True, timeout=600)
    database = Database(url, password=postgres.password_file.read_text())
    users = UserStore(database)
    for n in range(USERS):
        users.add(f"op{letters(n)}", Role.OPERATOR, f"op{letters(n)}-passphrase")
    users.add("boss", Role.ADMIN, "boss-passphrase")
    stack = Stack(env, "", [free_port(), free_port()], [], tmp_path, database)
    try:
        stack.ui = [stack.launch_ui(0), stack.launch_ui(1)]  # side by side, as a rollout
        stack.ui = [stack.wait_ui(n, proc) for n, proc in enumerate(stack.ui)]
        lb_port = free_port()
        lb_env = {**os.environ, "PLANTOPS_LB_BIND": f"127.0.0.1:{lb_port}",
                  "PLANTOPS_UI_1": f"127.0.0.1:{stack.ui_ports[0]}",
                  "PLANTOPS_UI_2": f"127.0.0.1:{stack.ui_ports[1]}"}
        with (tmp_path / "haproxy.log").open("wb") as log:
            started.append(subprocess.Popen(
                ["haproxy", "-db", "-f", str(ROOT / "deploy/haproxy/plantops.cfg")],
                env=lb_env, stdout=log, stderr=subprocess.STDOUT))
        stack.lb = f"http://127.0.0.1:{lb_port}"
        _wait(stack.lb + "/healthz", started[-1], "HAProxy")
        yield stack
    finally:
        for proc in [*stack.ui, *started]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@dataclass
class Operator:
    name: str
    answered: list[str] = field(default_factory=list)  # questions whose answer completed
    failed: list[tuple[float, str]] = field(default_factory=list)  # (when, why)
    signed_out: int = 0  # times the server said this user was not signed in
    http: httpx.Client | None = None  # signed in once, at the start, through the balancer

    def sign_in(self, lb: str) -> httpx.Client:
        self.http = httpx.Client(base_url=lb, timeout=60)
        signed = self.http.post("/login", data={"username": self.name,
                                                "password": f"{self.name}-passphrase"})
        assert signed.status_code == 200, signed.text
        return self.http


def _ask(client: httpx.Client, question: str) -> str:
    """One question through the `ask` API; the final event's name ("complete" or why not)."""
    started = client.post("/gradio_api/call/ask", json={"data": [question]})
    if started.status_code != 200:
        return f"http {started.status_code}"
    event = ""
    with client.stream("GET", f"/gradio_api/call/ask/{started.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
    return event or "no event"


def letters(n: int) -> str:
    """0 -> "aa", 1 -> "ab", ...: a marker that is no identifier."""
    return chr(97 + n // 26 % 26) + chr(97 + n % 26)


def _run(operator: Operator, lb: str, stop: threading.Event, t0: float) -> None:
    client = operator.sign_in(lb)
    n = 0
    while not stop.is_set():
        question = f"{QUESTIONS[n % len(QUESTIONS)]} ({operator.name}, question {letters(n)})"
        n += 1
        try:
            outcome = _ask(client, question)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        if outcome == "complete":
            operator.answered.append(question)
            stop.wait(random.uniform(*THINK_S))
        else:
            operator.failed.append((time.monotonic() - t0, outcome))
            if "401" in outcome or "not signed in" in outcome:
                operator.signed_out += 1
            time.sleep(0.5)


def _cites(port: int, admin: httpx.Client | None = None) -> bool:
    """Does the replica on ``port`` find the new document (its search, as an admin)?"""
    client = admin or httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    client.post("/login", data={"username": "boss", "password": "boss-passphrase"})
    started = client.post("/gradio_api/call/search",
                          json={"data": ["flame rod fault F-731", "all", "all", "", "", ""]})
    if started.status_code != 200:
        return False
    stream = client.get(f"/gradio_api/call/search/{started.json()['event_id']}").text
    return "kiln_k9.md" in stream


def test_a_ui_replica_dies_under_load_and_nothing_is_lost(stack: Stack, tmp_path: Path) -> None:
    incidents = IncidentStore(stack.database)
    seeded = {f"op{letters(n)}": incidents.save(f"op{letters(n)}", None, f"Shift incident {n}",
                                           {"messages": [n]}) for n in range(USERS)}
    operators = [Operator(f"op{letters(n)}") for n in range(USERS)]
    stop, t0 = threading.Event(), time.monotonic()
    threads = [threading.Thread(target=_run, args=(o, stack.lb, stop, t0)) for o in operators]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AT_S)
    stack.ui[0].send_signal(signal.SIGKILL)  # as the OOM killer or a dead node would
    killed_at = time.monotonic() - t0
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "kiln_k9.md").write_text(NEW_DOC)
    subprocess.run([PLANTOPS, "ingest", str(tmp_path / "new")], env=stack.env, check=True,
                   capture_output=True, timeout=300)
    ingested = time.monotonic()
    ingest_s = ingested - t0 - killed_at
    while not _cites(stack.ui_ports[1]) and time.monotonic() - ingested < CITE_WITHIN_S:
        time.sleep(0.5)
    live_replica_s = time.monotonic() - ingested
    relaunched_at = time.monotonic() - t0
    stack.ui[0] = stack.start_ui(0)  # the supervisor's restart
    restarted_s = time.monotonic() - ingested
    ready_at = time.monotonic() - t0
    restarted_cites = _cites(stack.ui_ports[0])
    first_search_s = time.monotonic() - ingested - restarted_s
    time.sleep(max(0.0, RUN_S - (time.monotonic() - t0)))
    stop.set()
    ran_s = time.monotonic() - t0
    for thread in threads:
        thread.join(timeout=120)

    answered = {q for o in operators for q in o.answered}
    with stack.database.begin() as db:
        audited = set(db.execute(select(audit.c.question).where(audit.c.action == "ask"))
                      .scalars())
    lost = answered - audited
    failed = [f for o in operators for f in o.failed]
    before_kill = [f for f in failed if f[0] < killed_at]
    after_kill = [f for f in failed if f[0] > killed_at + 5]
    print(f"\nkilled at {killed_at:.1f} s, restarted at {relaunched_at:.1f} s, ready at "
          f"{ready_at:.1f} s; failed requests (s, why): {sorted(failed)}")
    print(f"{len(answered)} answers in {ran_s:.0f} s by {USERS} operators; {len(failed)} "
          f"requests failed ({sorted({why for _, why in failed})}), {len(after_kill)} of them "
          f"later than 5 s after the kill; audit rows missing: {len(lost)}; the live replica "
          f"cited the new document {live_replica_s:.1f} s after its ingest, the restarted one "
          f"on its first search ({restarted_s:.1f} s, that search {first_search_s:.1f} s); the "
          f"ingest took {ingest_s:.1f} s")
    assert len(answered) > USERS  # the load really ran, before and after the kill
    assert lost == set()
    assert sum(o.signed_out for o in operators) == 0
    # only requests around the kill failed: those streaming on the dead replica, and any sent
    # to it before the balancer saw it gone; none before the kill, none 5 s after it
    assert before_kill == [] and after_kill == [] and len(failed) <= 2 * USERS
    assert live_replica_s < CITE_WITHIN_S and restarted_cites
    for operator in operators:  # still signed in (no new sign-in), incidents all there
        client = operator.http
        assert client is not None and client.get("/gradio_api/login_check").status_code == 200
        listed = client.post("/gradio_api/call/incidents", json={"data": []})
        stream = client.get(f"/gradio_api/call/incidents/{listed.json()['event_id']}").text
        assert f'"id": {seeded[operator.name]}' in stream, (operator.name, stream[-500:])
