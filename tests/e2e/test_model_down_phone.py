"""An operator signs in on a phone while the language model is down: the banner says so before
anyone asks, and the question box, Ask and the whole title still fit the first screen."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, copy_index, free_port
from tests.e2e.conftest import running_ui

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def model_down_ui(tmp_path_factory: pytest.TempPathFactory, samples_index: Path) -> Iterator[str]:
    """`plantops ui` with sign-in, the samples indexed, and a model URL where nothing listens."""
    data = copy_index(samples_index, tmp_path_factory.mktemp("model-down-data"))
    port = free_port()
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(data), "PLANTOPS_UI__AUTH": "login",
           "PLANTOPS_SERVING__BASE_URLS": json.dumps([f"http://127.0.0.1:{free_port()}/v1"]),
           "PLANTOPS_UI__PORT": str(port)}
    plantops = str(ROOT / ".venv/bin/plantops")
    subprocess.run([plantops, "users", "add", "op", "--role", "operator", "--password-stdin"],
                   input="operator-pass\n", text=True, env=env, check=True, capture_output=True)
    with running_ui("ui", env, tmp_path_factory.mktemp("model-down-ui") / "ui.log") as url:
        yield url


def test_phone_with_the_model_down_keeps_the_question_box_on_the_first_screen(  # type: ignore[no-untyped-def]
        browser, model_down_ui: str, screenshots: Path) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(model_down_ui)
    page.get_by_label("username").fill("op")
    page.get_by_label("password").fill("operator-pass")
    page.get_by_role("button", name="Login").click()
    page.locator("#model-banner").get_by_text("not answering").wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "ask-phone-model-down.png"))
    for selector in ("#model-banner", "#question textarea", "#ask"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] + box["height"] <= PHONE["height"], (selector, box)
    title = page.locator("#title h1")
    lines = title.evaluate("e => Math.round(e.getBoundingClientRect().height / "
                           "parseFloat(getComputedStyle(e).lineHeight))")
    assert lines == 1, "the title breaks over lines"
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth"), "the title is cut"
    page.close()
