"""The stack works with no network at all: ingest, query and an LLM answer.

`make test` (and so CI) runs the whole suite inside `unshare --net` with only
loopback up, so every test here and elsewhere would fail if it needed the
internet; this test states it and checks that the namespace really is empty.
"""

from pathlib import Path

import pytest

from app.answer.answering import AnswerStatus
from tests.conftest import ON_CI, SAMPLES, make_services, make_settings


def interfaces() -> set[str]:
    """Interfaces of this process's network namespace (/sys may show the host's)."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines}


def test_ingest_query_and_answer_with_loopback_only(tmp_path: Path, embedder,
                                                     sample_services) -> None:  # type: ignore[no-untyped-def]
    if interfaces() != {"lo"}:
        if ON_CI:
            pytest.fail(f"CI must run the tests in a loopback-only namespace; saw {interfaces()}")
        pytest.skip("not in a loopback-only network namespace: run through `make test`")
    settings = make_settings(tmp_path / "data", serving=sample_services.settings.serving)
    services = make_services(settings, embedder)
    assert services.ingestor.ingest([SAMPLES]).exit_code == 0
    hits = services.retriever.retrieve("in-running nip point")
    assert hits and hits[0].chunk.file.startswith("osha_3170")
    final = list(services.assistant.answer("What is an in-running nip point?"))[-1]
    assert final.status is AnswerStatus.COMPLETE and final.text.strip()
