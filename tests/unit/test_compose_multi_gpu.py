"""compose.multi-gpu.yaml: valid, layered on compose.yaml as Compose merges it, and serving
what the app's profiles say."""

import re
from typing import Any

import pytest
import yaml

from serving.settings import default_profiles
from serving.versions import VLLM_IMAGE
from tests.conftest import ROOT
from tests.unit.test_compose import schema_validator


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of two files, for the shapes these two use: mappings merge key by key,
    anything else is replaced (the override adds no list to an existing service)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merged(base[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def stack() -> dict[str, Any]:
    return merged(load("compose.yaml"), load("compose.multi-gpu.yaml"))


def flags(command: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+)(?: ([^-\s]\S*))?", command))


def test_the_layered_stack_matches_the_compose_schema(stack: dict[str, Any]) -> None:
    validator = schema_validator()
    validator.validate(load("compose.multi-gpu.yaml"))
    validator.validate(stack)


def test_two_replicas_on_two_gpus_and_the_app_uses_both(stack: dict[str, Any]) -> None:
    services = stack["services"]
    one, two = services["vllm"], services["vllm-2"]
    assert one["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 1  # GPU 0
    assert two["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]
    assert one["command"] == two["command"] and two["image"] == VLLM_IMAGE
    urls = yaml.safe_load(services["app"]["environment"]["PLANTOPS_SERVING__BASE_URLS"])
    assert urls == ["http://vllm:8000/v1", "http://vllm-2:8000/v1"]
    assert set(services["app"]["depends_on"]) == {"vllm", "vllm-2", "chroma"}
    assert services["app"]["environment"]["HF_HUB_OFFLINE"] == "1"  # the base's env is kept


def test_the_tensor_parallel_service_serves_its_profile_on_four_gpus(
        stack: dict[str, Any]) -> None:
    services = stack["services"]
    tp4, profile = services["vllm-70b"], default_profiles()["gpu-70b-tp4"]
    devices = tp4["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]
    assert len(devices) == profile.tensor_parallel_size == 4
    assert not set(devices) & {"0", "1"}  # not the 8B replicas' GPUs
    given = flags(tp4["command"][0])
    assert given["served-model-name"] == profile.served_model_name
    assert int(given["tensor-parallel-size"]) == profile.tensor_parallel_size
    assert int(given["max-model-len"]) == profile.max_model_len
    assert int(given["max-num-seqs"]) == profile.max_num_seqs
    assert given["quantization"] == profile.quantization and given["dtype"] == profile.dtype
    app = services["app-70b"]["environment"]
    assert app["PLANTOPS_SERVING__PROFILE"] == "gpu-70b-tp4"
    for name in ("vllm-2", "vllm-70b"):
        assert services[name]["networks"] == ["backend"] and not services[name].get("ports")
        assert services[name]["environment"]["VLLM_NO_USAGE_STATS"] == "1"
