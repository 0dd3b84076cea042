"""The same ingest and retrieval code against a real `chroma run` server."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.settings import IndexSettings, IngestSettings
from tests.conftest import ROOT, SAMPLES, free_port, make_services, make_settings


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/chroma"), "run", "--path", str(path),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_retrieve_through_chroma_server(chroma_url: str, tmp_path: Path,
                                                   embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "state", ingest=IngestSettings(
        index=IndexSettings(chroma_url=chroma_url)))
    services = make_services(settings, embedder)
    report = services.ingestor.ingest([SAMPLES / "grbl_alarm_and_error_codes.pdf"])
    assert report.exit_code == 0
    assert services.index.count() == report.results[0].chunks > 0
    assert not (tmp_path / "state" / "chroma").exists(), "must not fall back to the disk index"
    assert services.index.read_into_page_cache() == 0  # the server's files are its own

    hits = services.retriever.retrieve("homing fail: could not find limit switch", k=3)
    assert hits[0].chunk.file == "grbl_alarm_and_error_codes.pdf"
    assert hits[0].chunk.page == 1


def test_unreachable_server_is_a_clear_error(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from ingest.errors import IndexUnavailableError

    url = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(tmp_path, ingest=IngestSettings(index=IndexSettings(chroma_url=url)))
    with pytest.raises(IndexUnavailableError, match="cannot reach the Chroma server"):
        _ = make_services(settings, embedder).index
