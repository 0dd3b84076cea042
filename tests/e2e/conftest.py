"""Browser tier: the real `plantops up` process, driven by Debian's headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def ui_url(vllm_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`plantops up`, the main job, on a fresh data folder: it indexes the samples itself
    and reuses the session's vLLM, which already answers at the configured URL."""
    port = free_port()
    env = {**os.environ,
           "PLANTOPS_DATA_DIR": str(tmp_path_factory.mktemp("up-data")),
           "PLANTOPS_SERVING__BASE_URLS": json.dumps([vllm_server.base_url]),
           "PLANTOPS_UI__PORT": str(port)}
    log = tmp_path_factory.mktemp("ui") / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(ROOT / ".venv/bin/plantops"), "up"], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"the UI did not start: {log.read_text()[-3000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


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
