"""Faults of the model server, caused for real: its process killed, its process stopped."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from serving.client import ChatMessage, ModelClient
from serving.errors import ModelServerUnavailable, StreamInterrupted
from serving.launch import OFFLINE_ENV
from serving.processes import group_members
from serving.settings import ServingSettings
from tests.conftest import ROOT, free_port


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _launch(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([str(ROOT / ".venv/bin/plantops"), "serve", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _engine_started(serve: subprocess.Popen[str], seconds: float = 300) -> int:
    """The pid of ``serve``'s vLLM API server once that has started its engine (a group of
    two or more), before the model is loaded: soon enough to leave an orphaned group."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert serve.poll() is None, serve.stdout.read()  # type: ignore[union-attr]
        found = children(serve.pid)
        if found and len(group_members(found[0])) >= 2:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("vLLM did not start its engine")


def _serve(port: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`plantops serve` on ``port``, once vLLM is ready; what it printed until then."""
    serve = _launch(port, env)
    deadline = time.monotonic() + 300
    seen = ""
    out = serve.stdout.fileno()  # type: ignore[union-attr]
    while "vLLM ready" not in seen:  # serving, past its start-up check
        assert serve.poll() is None, seen
        assert time.monotonic() < deadline, f"vLLM did not become ready: {seen[-2000:]}"
        # Raw reads: a buffered readline() can hold the next line where select() cannot see
        # it (two lines written at once), and the loop then waits out its deadline.
        if select.select([out], [], [], 1.0)[0]:
            seen += os.read(out, 65536).decode("utf-8", "replace")
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    return serve, seen


def _gone_within(pgid: int, seconds: float) -> list[int]:
    """The members of group ``pgid`` still alive after ``seconds`` ([] once none is)."""
    deadline = time.monotonic() + seconds
    while (alive := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def test_a_dead_model_server_leaves_no_engine_behind(model_dir: Path, tmp_path: Path) -> None:
    """Before: `plantops serve` slept on with its model server gone; then, once it exited 4,
    SIGKILLing the API server alone (as the OOM killer does) left vLLM's EngineCore, Worker and
    resource_tracker running as orphans, 2.3-2.5 GB each; and a serve killed itself left its
    whole vLLM behind, so the next start on that port failed."""
    port, grace = free_port(), 5
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(tmp_path / "data"),
           "PLANTOPS_SERVING__STOP_GRACE_S": str(grace)}
    started: list[subprocess.Popen[str]] = []
    try:
        serve, _ = _serve(port, env)
        started.append(serve)
        [api] = children(serve.pid)
        assert len(group_members(api)) >= 2  # the API server and the engine it started
        os.kill(api, signal.SIGKILL)  # the API server only, as the OOM killer would
        assert serve.wait(timeout=60) == 4
        assert "vLLM exited with code" in serve.stdout.read()  # type: ignore[union-attr]
        assert _gone_within(api, 2) == []  # serve ended the rest of the group before exiting

        assert not _answers(f"http://127.0.0.1:{port}/health")
        second = _launch(port, env)  # on the same port (the third start proves it free)
        started.append(second)
        api = _engine_started(second)  # (its model need not be loaded to be orphaned)
        second.kill()  # serve itself dies: its vLLM group lives on, recorded in the pid file
        second.wait(timeout=10)
        assert group_members(api)
        third, seen = _serve(port, env)  # ends the leftovers first, then starts
        started.append(third)
        assert "ended" in seen and "an earlier model server of ours left" in seen
        assert group_members(api) == []
        [api] = children(third.pid)
        third.terminate()  # a supervisor's stop: the whole group goes with it
        third.wait(timeout=grace + 30)
        assert _gone_within(api, 2) == []
    finally:
        for serve in started:
            if serve.poll() is None:
                serve.kill()


def test_up_ends_a_dead_model_servers_engine_and_starts_it_again(model_dir: Path,
                                                                 tmp_path: Path) -> None:
    """Before: `plantops up` kept its UI running with the API server gone and vLLM's
    EngineCore, Worker and resource_tracker orphaned (2.3-2.5 GB each) until up itself
    stopped; nothing started the model again."""
    vllm_port, grace = free_port(), 5
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(tmp_path / "data"),
           "PLANTOPS_SERVING__STOP_GRACE_S": str(grace),
           "PLANTOPS_SERVING__PORT": str(vllm_port),
           "PLANTOPS_SERVING__BASE_URLS": f'["http://127.0.0.1:{vllm_port}/v1"]',
           "PLANTOPS_UI__PORT": str(free_port())}
    up = subprocess.Popen([str(ROOT / ".venv/bin/plantops"), "up"], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _read_until(up, "PlantOps Assistant UI:", 400)
        [api] = [p for p in children(up.pid) if group_members(p)]
        os.kill(api, signal.SIGKILL)  # the API server only, as the OOM killer would
        said = _read_until(up, "starting it again", 60)
        assert "vLLM exited with code -9; its processes are ended" in said
        assert group_members(api) == []  # the engine went with it, before the restart
        deadline = time.monotonic() + 300
        while not _answers(f"http://127.0.0.1:{vllm_port}/health"):
            assert up.poll() is None and time.monotonic() < deadline, "no new vLLM"
            time.sleep(1)
        [again] = [p for p in children(up.pid) if group_members(p)]
        up.terminate()  # a supervisor's stop: up ends its vLLM's whole group
        up.wait(timeout=grace + 30)
        assert _gone_within(again, 2) == []
    finally:
        if up.poll() is None:
            up.kill()


def _read_until(proc: subprocess.Popen[str], text: str, seconds: float) -> str:
    """What ``proc`` printed until a line holding ``text`` (raw reads, as in _serve)."""
    deadline, seen = time.monotonic() + seconds, ""
    out = proc.stdout.fileno()  # type: ignore[union-attr]
    while text not in seen:
        assert proc.poll() is None, seen[-2000:]
        assert time.monotonic() < deadline, f"no {text!r} within {seconds:.0f} s: {seen[-2000:]}"
        if select.select([out], [], [], 1.0)[0]:
            seen += os.read(out, 65536).decode("utf-8", "replace")
    return seen


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_hung_model_server_costs_one_timeout_not_every_question(vllm_server) -> None:  # type: ignore[no-untyped-def]
    """Before: a stopped (SIGSTOP) server cost every question the whole first-token timeout
    before the retrieval-only answer, since a replica marked down was tried anyway."""
    client = ModelClient(ServingSettings(base_urls=[vllm_server.base_url],
                                         first_token_timeout_s=3, max_answer_tokens=16))
    question = [ChatMessage("user", "Say OK.")]
    group = os.getpgid(vllm_server.pid)
    os.killpg(group, signal.SIGSTOP)
    try:
        waits = []
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(ModelServerUnavailable):
                "".join(client.stream(question))
            waits.append(time.monotonic() - started)
        assert waits[0] >= 2.5 and max(waits[1:]) < 0.5, waits
    finally:
        os.killpg(group, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while not client.replica_status()[vllm_server.base_url]:
        assert time.monotonic() < deadline, "the background probe never marked it up"
        time.sleep(0.5)
    assert "".join(client.stream(question))
    reading = client.stream(question)
    next(reading)
    reading.close()  # the app stops reading a looping answer: the replica is not at fault
    assert client.replica_status()[vllm_server.base_url]
    # Hung mid-answer: one read timeout, then the next question is not kept waiting too.
    reading = client.stream([ChatMessage("user", "Count from 1 to 200, one number a line.")])
    next(reading)
    os.killpg(group, signal.SIGSTOP)
    try:
        with pytest.raises(StreamInterrupted):
            "".join(reading)
        started = time.monotonic()
        with pytest.raises(ModelServerUnavailable):
            "".join(client.stream(question))
        assert time.monotonic() - started < 0.5
    finally:
        os.killpg(group, signal.SIGCONT)


def test_the_printed_serve_command_runs_as_is_offline_and_keeps_its_key_private(
        model_dir: Path, tmp_path: Path) -> None:
    """Before: `serve --dry-run` printed the argv without the offline environment (a copy in
    a systemd unit reached for the internet) and the key as an argument, readable in `ps`.
    The printed text is run by bash from another folder, exactly as an admin would paste it."""
    key = tmp_path / "vllm api key"
    key.write_text("k-" + os.urandom(8).hex() + "\n")
    secret = key.read_text().strip()
    port = free_port()
    printed = subprocess.run(
        [str(ROOT / ".venv/bin/plantops"), "serve", "--dry-run", "--port", str(port)],
        env={**os.environ, "PLANTOPS_DATA_DIR": str(tmp_path / "data"),
             "PLANTOPS_SERVING__API_KEY_FILE": str(key)},
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert secret not in printed
    clean = {k: v for k, v in os.environ.items()  # an admin's shell: none of our switches
             if k not in OFFLINE_ENV and k not in ("VLLM_HOST_IP", "VLLM_API_KEY")}
    vllm = subprocess.Popen(["bash", "-c", printed], cwd=tmp_path, env=clean,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert vllm.poll() is None, "the printed command exited"
            assert time.monotonic() < deadline, "vLLM did not become healthy"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            time.sleep(1)
        assert httpx.get(f"{base}/v1/models", timeout=5).status_code == 401
        assert httpx.get(f"{base}/v1/models", timeout=5,
                         headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        group = [int(p) for p in os.listdir("/proc") if p.isdigit()
                 and _group_of(int(p)) == vllm.pid]
        assert group
        for pid in group:  # `ps` shows no process of it with the key
            assert secret not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        environ = dict(item.split("=", 1) for item in
                       Path(f"/proc/{vllm.pid}/environ").read_text().split("\0") if "=" in item)
        assert environ.items() >= {**OFFLINE_ENV, "VLLM_HOST_IP": "127.0.0.1"}.items()
    finally:
        os.killpg(vllm.pid, signal.SIGKILL)
        vllm.wait()


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
