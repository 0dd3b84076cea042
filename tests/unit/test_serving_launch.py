import shlex
from pathlib import Path

import pytest

from serving.errors import ModelFolderError, ServingError
from serving.launch import (
    OFFLINE_ENV,
    shell_command,
    systemd_unit,
    vllm_command,
    vllm_environment,
)
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


def test_gpu_profile_command_has_parallelism_and_keeps_the_key_off_the_command_line() -> None:
    """On the command line `ps` shows the key to every user of the machine."""
    s = ServingSettings(profile="gpu-70b-tp4", api_key="s3cret")
    cmd = vllm_command(s, s.active_profile(), 8000)
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4"
    assert cmd[cmd.index("--quantization") + 1] == "awq"
    assert "--api-key" not in cmd and "s3cret" not in " ".join(cmd)
    env = vllm_environment(s, s.active_profile(), base={"VLLM_API_KEY": "stale"})
    assert env["VLLM_API_KEY"] == "s3cret"
    assert "VLLM_API_KEY" not in vllm_environment(ServingSettings(), ServingSettings()
                                                  .active_profile(), base={"VLLM_API_KEY": "x"})


def test_environment_switches_off_every_outbound_path() -> None:
    s = ServingSettings()
    env = vllm_environment(s, s.active_profile(), base={"HF_HUB_OFFLINE": "0"})
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["VLLM_NO_USAGE_STATS"] == "1" and env["DO_NOT_TRACK"] == "1"
    assert env["VLLM_HOST_IP"] == "127.0.0.1"


def test_printed_command_carries_the_environment_and_names_the_key_file_only(
        tmp_path: Path) -> None:
    key = tmp_path / "vllm api key"
    key.write_text("s3cret\n")
    s = ServingSettings(api_key_file=key)
    text = shell_command(s, s.active_profile(), 8011)
    assert "s3cret" not in text
    words = shlex.split(text.replace("\\\n", " "))
    assert words[0] == f"VLLM_API_KEY=$(cat {shlex.quote(str(key))})"  # run by the shell
    assert words[1:4] == ["env", "-u", "PYTHONPATH"]
    assignments = dict(w.split("=", 1) for w in words[4:] if "=" in w and not w.startswith("-"))
    assert assignments.items() >= {**OFFLINE_ENV, "VLLM_HOST_IP": "127.0.0.1"}.items()
    assert words[-len(vllm_command(s, s.active_profile(), 8011)):] == vllm_command(
        s, s.active_profile(), 8011)
    assert Path(vllm_command(s, s.active_profile(), 8011)[0]).is_absolute()
    by_value = ServingSettings(api_key="s3cret")
    assert "s3cret" not in shell_command(by_value, by_value.active_profile(), 8011)


def test_systemd_unit_loads_the_key_as_a_credential_and_stays_on_loopback(
        tmp_path: Path) -> None:
    (key := tmp_path / "key").write_text("s3cret")
    s = ServingSettings(api_key_file=key)
    unit = systemd_unit(s, s.active_profile(), 8011)
    assert "s3cret" not in unit
    lines = unit.splitlines()
    assert f"LoadCredential=vllm-api-key:{key}" in lines
    assert "Environment=HF_HUB_OFFLINE=1" in lines and "Environment=VLLM_HOST_IP=127.0.0.1" in lines
    assert "IPAddressDeny=any" in lines and "Restart=on-failure" in lines
    [exec_start] = [line for line in lines if line.startswith("ExecStart=")]
    assert '$${CREDENTIALS_DIRECTORY}/vllm-api-key' in exec_start  # $$: systemd's escape
    with pytest.raises(ServingError, match="api_key_file"):
        by_value = ServingSettings(api_key="s3cret")
        systemd_unit(by_value, by_value.active_profile(), 8011)


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
