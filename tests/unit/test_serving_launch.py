from pathlib import Path

import pytest

from serving.errors import ModelFolderError
from serving.launch import vllm_command, vllm_environment
from serving.models import verify_checksums, write_checksums
from serving.settings import ServingSettings


def test_cpu_profile_command_is_eager_float32_without_gpu_flags() -> None:
    s = ServingSettings()
    cmd = vllm_command(s, s.active_profile(), 8011)
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert "--enforce-eager" in cmd and "--tensor-parallel-size" not in cmd
    assert cmd[cmd.index("--dtype") + 1] == "float32"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--api-key" not in cmd


def test_gpu_profile_command_has_parallelism_and_api_key() -> None:
    s = ServingSettings(profile="gpu-70b-tp4", api_key="s3cret")
    cmd = vllm_command(s, s.active_profile(), 8000)
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4"
    assert cmd[cmd.index("--quantization") + 1] == "awq"
    assert cmd[cmd.index("--api-key") + 1] == "s3cret"


def test_environment_switches_off_every_outbound_path() -> None:
    s = ServingSettings()
    env = vllm_environment(s, s.active_profile(), base={"HF_HUB_OFFLINE": "0"})
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["VLLM_NO_USAGE_STATS"] == "1" and env["DO_NOT_TRACK"] == "1"
    assert env["VLLM_HOST_IP"] == "127.0.0.1"


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="cpu-small"):
        ServingSettings(profile="nope").active_profile()


def test_checksums_catch_tampering_and_partial_copies(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    write_checksums(tmp_path)
    verify_checksums(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(ModelFolderError, match="model.safetensors does not match"):
        verify_checksums(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="model.safetensors is missing"):
        verify_checksums(tmp_path)


def test_unprepared_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="does not exist"):
        verify_checksums(tmp_path / "nothing")
    with pytest.raises(ModelFolderError, match="no SHA256SUMS"):
        verify_checksums(tmp_path)
