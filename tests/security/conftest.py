"""A UI that requires sign-in, as an outsider meets it: three users, the samples indexed,
short idle sessions, and the Secure-cookie mode of a UI behind a TLS proxy. No model server
(retrieval-only answers): these tests attack the web layer, not the answers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, copy_index, free_port
from tests.e2e.conftest import PASSWORDS, ROLES, running_ui

IDLE_S = 8
# operators beside "op": one whose password tests guess (locked for a while after), and one
# that is a second operator (tests/security/test_work_orders_http.py)
MORE_OPERATORS = {"guessme": "guessme-pass", "op2": "operator2-pass"}
COLLECTIONS = {"fleet": {"roles": []},  # admins only
               "safety": {"roles": ["technician"]}}


@dataclass(frozen=True)
class GuardedUi:
    url: str
    data: Path


@pytest.fixture(scope="session")
def guarded_ui(tmp_path_factory: pytest.TempPathFactory,
               samples_index: Path) -> Iterator[GuardedUi]:
    data = copy_index(samples_index, tmp_path_factory.mktemp("guarded-data"))
    port = free_port()
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(data), "PLANTOPS_UI__AUTH": "login",
           "PLANTOPS_UI__SESSION_IDLE_MINUTES": str(IDLE_S / 60),
           "PLANTOPS_UI__BEHIND_TLS_PROXY": "true",
           "PLANTOPS_SERVING__BASE_URLS": json.dumps([f"http://127.0.0.1:{free_port()}/v1"]),
           "PLANTOPS_UI__PORT": str(port),
           # need to know (tests/security/test_collections_http.py): no document is in one
           # until a test puts it there, through the admin's endpoint
           "PLANTOPS_COLLECTIONS": json.dumps(COLLECTIONS)}
    plantops = str(ROOT / ".venv/bin/plantops")
    for name, password in {**PASSWORDS, **MORE_OPERATORS}.items():
        subprocess.run([plantops, "users", "add", name, "--role", ROLES.get(name, "operator"),
                        "--password-stdin"], input=password + "\n", text=True, env=env,
                       check=True, capture_output=True)
    with running_ui("ui", env, tmp_path_factory.mktemp("guarded-ui") / "ui.log") as url:
        yield GuardedUi(url.rstrip("/"), data)


def sign_in_http(url: str, name: str, password: str | None = None) -> httpx.Client:
    """A raw HTTP session of `name`, as a script would hold it. The session cookie is Secure
    (TLS-proxy mode), so it is sent by hand over this test's plain HTTP."""
    password = password or {**PASSWORDS, **MORE_OPERATORS}[name]
    response = httpx.post(f"{url}/login", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_list("set-cookie"))
    return httpx.Client(base_url=url, headers={"Cookie": cookies}, timeout=30)


def call(session: httpx.Client, api_name: str, *data: object) -> list:  # type: ignore[type-arg]
    """One Gradio API call over raw HTTP, as a script would make it; the outputs, or raise
    with the error the server sent."""
    started = session.post(f"/gradio_api/call/{api_name}", json={"data": list(data)})
    started.raise_for_status()
    stream = session.get(f"/gradio_api/call/{api_name}/{started.json()['event_id']}").text
    event, payload = "", ""
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = line.split(":", 1)[1].strip()
    if event != "complete":
        raise RuntimeError(f"{api_name}: {event} {payload}")
    return json.loads(payload)
