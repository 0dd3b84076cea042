"""Start vLLM for a profile, offline and without telemetry, and wait until ready."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from serving.errors import ModelServerUnavailable, ServingError
from serving.models import verify_checksums
from serving.settings import ModelProfile, ServingSettings

# Switches that keep vLLM and the libraries under it from reaching any network:
# no hub lookups, no usage stats, and no probe of a public address to learn its IP.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
}


def vllm_command(settings: ServingSettings, profile: ModelProfile, port: int) -> list[str]:
    """The exact command line; `plantops serve --dry-run` prints it."""
    cmd = [
        str(settings.vllm_python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(profile.model_dir),
        "--served-model-name", profile.served_model_name,
        "--host", settings.host, "--port", str(port),
        "--max-model-len", str(profile.max_model_len),
        "--max-num-seqs", str(profile.max_num_seqs),
        "--dtype", profile.dtype,
    ]
    if profile.device != "cpu":
        cmd += ["--tensor-parallel-size", str(profile.tensor_parallel_size),
                "--gpu-memory-utilization", str(profile.gpu_memory_utilization)]
    if profile.quantization:
        cmd += ["--quantization", profile.quantization]
    cmd.append("--enable-prefix-caching" if profile.enable_prefix_caching
               else "--no-enable-prefix-caching")
    if settings.api_key and settings.api_key != "EMPTY":
        cmd += ["--api-key", settings.api_key]
    return cmd + list(profile.extra_args)


def vllm_environment(settings: ServingSettings, profile: ModelProfile,
                     base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    env["VLLM_HOST_IP"] = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    if profile.device == "cpu":
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on a laptop
    env.pop("PYTHONPATH", None)  # vLLM lives in its own environment
    return env


class VllmServer:
    """A vLLM process we started; stopped on exit of the `with` block."""

    def __init__(self, settings: ServingSettings, port: int | None = None,
                 log_path: Path | None = None) -> None:
        self.settings = settings
        self.profile = settings.active_profile()
        self.port = port or settings.port
        self.base_url = f"http://{settings.host}:{self.port}/v1"
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        verify_checksums(self.profile.model_dir)
        if not Path(self.settings.vllm_python).exists():
            raise ServingError(f"vLLM's Python {self.settings.vllm_python} does not exist: "
                               "run `make setup` or set PLANTOPS_SERVING__VLLM_PYTHON")
        # The child gets its own copy of the log's descriptor; ours is closed at once.
        with (open(self._log_path, "ab") if self._log_path
              else contextlib.nullcontext(subprocess.DEVNULL)) as log:
            self._proc = subprocess.Popen(
                vllm_command(self.settings, self.profile, self.port),
                env=vllm_environment(self.settings, self.profile),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self) -> float:
        """Block until /health answers; return the seconds it took."""
        started = time.monotonic()
        deadline = started + self.settings.startup_timeout_s
        health = self.base_url.removesuffix("/v1") + "/health"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ModelServerUnavailable(
                    f"vLLM exited with code {self._proc.returncode} while starting; "
                    f"see {self._log_path or 'its output'}")
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ModelServerUnavailable(f"vLLM did not become healthy on {health} within "
                                     f"{self.settings.startup_timeout_s:.0f} s")

    def wait(self) -> int:
        """Block until the vLLM process exits; its exit code."""
        if self._proc is None:
            raise ServingError("vLLM was not started")
        return self._proc.wait()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, sig)
        try:
            self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def __enter__(self) -> VllmServer:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
