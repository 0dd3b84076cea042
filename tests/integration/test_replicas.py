"""Two real vLLM replicas: spreading, a replica killed mid-answer, and its return."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.answer.answering import AnswerStatus, AnswerUpdate
from serving.client import ChatMessage, ModelClient
from serving.launch import VllmServer
from serving.router import VllmRouter
from serving.settings import ServingSettings
from tests.conftest import ROOT, free_port, make_services, make_settings


def answered(update: AnswerUpdate) -> bool:
    """A whole answer from a model: complete, or stopped by the length limit (still a
    finished request for vLLM), not cut by a failing server."""
    return bool(update.text) and (update.status is AnswerStatus.COMPLETE or (
        update.status is AnswerStatus.INCOMPLETE and "length limit" in update.notice))


def finished_requests(server: VllmServer) -> float:
    """vLLM's own count of finished requests (Prometheus /metrics)."""
    text = httpx.get(server.base_url.removesuffix("/v1") + "/metrics", timeout=5).text
    return sum(float(m) for m in re.findall(r"^vllm:request_success_total\{.*\} (\S+)$", text,
                                             re.MULTILINE))


@pytest.fixture(scope="module")
def second_replica(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    settings = ServingSettings(vllm_python=ROOT / ".venv-vllm/bin/python")
    settings.profiles["cpu-small"].model_dir = model_dir
    server = VllmServer(settings, port=free_port(),
                        log_path=tmp_path_factory.mktemp("vllm2") / "vllm.log")
    server.start()
    server.wait_ready()
    yield server
    server.stop()


def test_requests_spread_over_both_replicas(vllm_server, second_replica) -> None:  # type: ignore[no-untyped-def]
    client = ModelClient(ServingSettings(base_urls=[vllm_server.base_url,
                                                    second_replica.base_url],
                                         max_answer_tokens=24))
    before = [finished_requests(s) for s in (vllm_server, second_replica)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: "".join(client.stream([ChatMessage("user", f"Count to {i}")])),
                      range(4)))
    after = [finished_requests(s) for s in (vllm_server, second_replica)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2]


def test_replica_killed_mid_answer_then_restarted(vllm_server, second_replica,
                                                  sample_services) -> None:  # type: ignore[no-untyped-def]
    # The killed replica is listed first, so an idle client sends the answer there.
    serving = ServingSettings(base_urls=[second_replica.base_url, vllm_server.base_url],
                              max_answer_tokens=32)  # short answers: none is stopped early
    services = make_services(make_settings(sample_services.settings.data_dir, serving=serving),
                             sample_services.embedder)
    updates = services.assistant.answer("Homing fails with ALARM 9. What should I check?")
    for update in updates:
        if update.text:
            second_replica.kill()
            break
    final = list(updates)[-1]
    assert final.status is AnswerStatus.INCOMPLETE and final.text
    assert "incomplete" in final.notice

    served_before = finished_requests(vllm_server)
    after_kill = list(services.assistant.answer("What does ALARM 9 mean?"))[-1]
    assert answered(after_kill)
    assert finished_requests(vllm_server) == served_before + 1
    assert services.client.replica_status()[second_replica.base_url] is False

    second_replica.start()
    second_replica.wait_ready()
    deadline = time.monotonic() + 30
    while not services.client.replica_status()[second_replica.base_url]:
        assert time.monotonic() < deadline, "the background probe never marked it up"
        time.sleep(0.5)
    served = finished_requests(second_replica)
    assert answered(list(services.assistant.answer("What does ALARM 9 mean?"))[-1])
    assert finished_requests(second_replica) == served + 1


def running_requests(server: VllmServer) -> float:
    text = httpx.get(server.base_url.removesuffix("/v1") + "/metrics", timeout=5).text
    return sum(float(m) for m in re.findall(r"^vllm:num_requests_running\{.*\} (\S+)$", text,
                                             re.MULTILINE))


@pytest.fixture(scope="module")
def router(vllm_server, second_replica, tmp_path_factory: pytest.TempPathFactory) -> Iterator:  # type: ignore[no-untyped-def]
    """The plant-scale path: vllm-router in front of both replicas (`make router`)."""
    binary = ROOT / ".venv-router/bin/vllm-router"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: `make test` installs it (make router)")
    routed = VllmRouter(binary, [s.base_url.removesuffix("/v1")
                                 for s in (vllm_server, second_replica)],
                        free_port(), tmp_path_factory.mktemp("router") / "router.log")
    routed.start()
    yield routed
    routed.stop()


def test_through_the_router_a_replica_killed_mid_answer_loses_no_question(
        vllm_server, second_replica, router, sample_services) -> None:  # type: ignore[no-untyped-def]
    """Six operators ask at once through the router; one replica is SIGKILLed while it is
    writing answers. Every question gets its answer back, none hangs or errors: one whose
    replica died before its first token is asked again through the router (no model-down
    banner), one cut mid-answer keeps its text, labelled "incomplete"; the questions right
    after are answered whole by the replica left. Runs last here: the killed replica is not
    restarted."""
    serving = ServingSettings(base_urls=[router.base_url], max_answer_tokens=48)
    services = make_services(make_settings(sample_services.settings.data_dir, serving=serving),
                             sample_services.embedder)
    questions = ["Homing fails with ALARM 9. What should I check?",
                 "What does ALARM 2 mean and what should I do?",
                 "How do I clear a jam on the conveyor safely?",
                 "What does error E-17 mean on the press?",
                 "How is the pump seal replaced?",
                 "What should I check when the spindle overheats?"]
    with ThreadPoolExecutor(len(questions)) as pool:
        asked = [pool.submit(lambda q: list(services.assistant.answer(q))[-1], q)
                 for q in questions]
        deadline = time.monotonic() + 120
        while running_requests(second_replica) == 0:
            assert time.monotonic() < deadline, "no question reached the second replica"
            time.sleep(0.1)
        time.sleep(1.0)  # its answers are streaming
        second_replica.kill()
        finals = [f.result(timeout=300) for f in asked]
    outcomes = Counter("model's answer" if answered(f) else str(f.status) for f in finals)
    print(f"\nthrough vllm-router, replica killed mid-answer: {dict(outcomes)}")
    assert sum(outcomes.values()) == len(questions)  # every question got its answer back
    # No first token is retried through the router: nobody gets the model-down banner.
    assert set(outcomes) <= {"model's answer", "incomplete", "complete", "abstained"}
    for final in finals:
        if final.status is AnswerStatus.INCOMPLETE and not answered(final):
            assert final.text and "incomplete" in final.notice  # the text so far, labelled

    time.sleep(3)  # the router's health check (every 2 s) takes the dead replica out
    served = finished_requests(vllm_server)
    after = [list(services.assistant.answer(q))[-1] for q in questions[:3]]
    assert [answered(f) for f in after] == [True] * 3
    assert finished_requests(vllm_server) == served + 3  # by the replica left
