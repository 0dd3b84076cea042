"""Answers from the real vLLM CPU server over the sample documents."""

import json
import time
from pathlib import Path

from app.answer.answering import AnswerStatus
from app.settings import RetrievalSettings
from serving.settings import ServingSettings
from tests.conftest import ROOT, free_port, make_services


def test_streamed_answer_cites_the_right_page(sample_services) -> None:  # type: ignore[no-untyped-def]
    updates = list(sample_services.assistant.answer(
        "Homing fails with ALARM 9, could not find the limit switch. What should I check?"))
    streamed = [u for u in updates if u.status is AnswerStatus.STREAMING and u.text]
    assert len(streamed) >= 3, "the answer must arrive in pieces"
    assert all(a.text in b.text for a, b in zip(streamed, streamed[1:], strict=False))
    final = updates[-1]
    # The 135M CPU model may run to the length limit or loop; then the answer says so.
    assert final.status is AnswerStatus.COMPLETE or (
        final.status is AnswerStatus.INCOMPLETE
        and ("length limit" in final.notice or "repeated itself" in final.notice)), final
    assert final.text.strip()
    cited = {(c.chunk.file, c.chunk.page) for c in final.citations}
    assert ("grbl_alarm_and_error_codes.pdf", 1) in cited
    assert final.timings_s["first_token"] > 0
    # the quoted evidence comes first, verbatim from a cited passage
    assert final.quotes
    passages = {c.number: " ".join(c.chunk.text.split()) for c in final.citations}
    assert all(q.text in passages[q.number] for q in final.quotes)
    quoted = list(dict.fromkeys(q.number for q in final.quotes))
    assert final.cited[:len(quoted)] == quoted  # the quotes cite, [n] markers or not


def test_server_reports_the_model_the_app_expects(sample_services) -> None:  # type: ignore[no-untyped-def]
    served = sample_services.client.served_model(sample_services.settings.serving.base_urls[0])
    profile = sample_services.settings.serving.active_profile()
    assert served["max_model_len"] == profile.max_model_len


def test_weak_evidence_abstains_without_calling_the_model(
        tmp_path: Path, sample_services) -> None:  # type: ignore[no-untyped-def]
    # The model URL is a closed port: had the model been called, the status would say so.
    strict = json.loads((ROOT / "app" / "answer" / "abstention_model.json").read_text())
    (tmp_path / "strict.json").write_text(json.dumps({**strict, "answer_at": 0.9999,
                                                      "weak_at": 0.9999}))
    settings = sample_services.settings.model_copy(update={
        "retrieval": RetrievalSettings(abstention_model=tmp_path / "strict.json"),
        "serving": ServingSettings(base_urls=[f"http://127.0.0.1:{free_port()}/v1"])})
    services = make_services(settings, sample_services.embedder)
    final = list(services.assistant.answer("What is the torque for M20 crusher liner bolts?"))[-1]
    assert final.status is AnswerStatus.ABSTAINED
    assert final.text == "Not found in the documents." and final.citations


def test_model_down_gives_retrieval_only_quickly(tmp_path: Path, sample_services) -> None:  # type: ignore[no-untyped-def]
    dead = [f"http://127.0.0.1:{free_port()}/v1", f"http://127.0.0.1:{free_port()}/v1"]
    settings = sample_services.settings.model_copy(
        update={"serving": ServingSettings(base_urls=dead)})
    services = make_services(settings, sample_services.embedder)
    started = time.monotonic()
    final = list(services.assistant.answer("Homing fail ALARM 9: what should I check?"))[-1]
    assert final.status is AnswerStatus.MODEL_UNAVAILABLE
    assert "unreachable" in final.notice and "http" not in final.notice and final.citations
    assert time.monotonic() - started < settings.serving.first_token_timeout_s


def test_a_busy_model_server_is_said_busy_and_stays_in_use(sample_services, vllm_server) -> None:  # type: ignore[no-untyped-def]
    """Several long prompts ahead of the question on the real CPU server: the first token
    comes later than the timeout while /health answers. Before: the replica was marked down
    and the operator read "unreachable", and questions arriving next were turned away."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    words = [f"w{n}" for n in range(5000)]

    def long_prompt(seed: int) -> None:  # distinct prompts: no shared prefix to reuse
        text = " ".join(random.Random(seed).choices(words, k=1200))
        httpx.post(vllm_server.base_url + "/chat/completions", timeout=300, json={
            "model": sample_services.client.model_name, "max_tokens": 8,
            "messages": [{"role": "user", "content": text}]})

    settings = sample_services.settings.model_copy(update={"serving": ServingSettings(
        base_urls=[vllm_server.base_url], first_token_timeout_s=0.05)})
    services = make_services(settings, sample_services.embedder)
    with ThreadPoolExecutor(4) as pool:
        burst = [pool.submit(long_prompt, seed) for seed in range(4)]
        time.sleep(0.5)  # the burst reaches the server first
        final = list(services.assistant.answer("Homing fail ALARM 9: what should I check?"))[-1]
        assert final.status is AnswerStatus.MODEL_UNAVAILABLE
        assert "busy" in final.notice and "unreachable" not in final.notice, final.notice
        assert final.citations  # the passages are still given
        assert services.client.replica_status() == {vllm_server.base_url: True}
        for done in burst:
            done.result()


def test_servicing_question_gets_the_plants_lockout_rule_pinned(sample_services) -> None:  # type: ignore[no-untyped-def]
    """The pages that answer a jammed conveyor hold no lockout sentence; the samples' OSHA
    guide does, and it is pinned with its page as one more source. A question about a code's
    meaning gets none (it would become boilerplate)."""
    dead = [f"http://127.0.0.1:{free_port()}/v1"]
    settings = sample_services.settings.model_copy(
        update={"serving": ServingSettings(base_urls=dead)})
    services = make_services(settings, sample_services.embedder)
    final = list(services.assistant.answer("The conveyor is jammed, how do I clear it?"))[-1]
    [pinned] = [n for n in final.safety if "lockout/tagout" in n.text.lower()]
    source = final.citations[pinned.citation_number - 1]
    assert source.number == pinned.citation_number
    assert source.chunk.file == "osha_3170_safeguarding_equipment_amputations.pdf"
    assert pinned.text.lower() in " ".join(source.chunk.text.split()).lower()  # verbatim
    meaning = list(services.assistant.answer("What does ALARM:2 mean?"))[-1]
    assert not [n for n in meaning.safety if "lockout" in n.text.lower()]
