"""Start vLLM for a profile, offline and without telemetry, and wait until ready."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from serving.errors import ModelServerUnavailable, ServingError
from serving.models import verify_checksums
from serving.processes import PidFile, end_group
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


# vLLM reads its API key from here as well as from --api-key: on the command line any user
# of the machine reads it with `ps`.
KEY_VARIABLE = "VLLM_API_KEY"
_CREDENTIAL = "vllm-api-key"


def vllm_command(settings: ServingSettings, profile: ModelProfile, port: int) -> list[str]:
    """The command line (absolute paths, so that it runs from any folder; the key is passed
    in the environment, never here)."""
    cmd = [
        os.path.abspath(settings.vllm_python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", os.path.abspath(profile.model_dir),
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
    return cmd + list(profile.extra_args)


def launch_variables(settings: ServingSettings, profile: ModelProfile,
                     base: Mapping[str, str] | None = None) -> dict[str, str]:
    """What vLLM's environment must hold besides the key: the offline switches, and its own
    address (without VLLM_HOST_IP it sends a UDP packet to a public resolver to learn it)."""
    base = os.environ if base is None else base
    variables = dict(OFFLINE_ENV)
    variables["VLLM_HOST_IP"] = (settings.host if settings.host not in ("0.0.0.0", "::")
                                 else "127.0.0.1")
    if profile.device == "cpu":  # GiB of KV cache on a laptop, unless the admin set it
        variables["VLLM_CPU_KVCACHE_SPACE"] = base.get("VLLM_CPU_KVCACHE_SPACE", "1")
    return variables


def vllm_environment(settings: ServingSettings, profile: ModelProfile,
                     base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(launch_variables(settings, profile, env))
    env.pop("PYTHONPATH", None)  # vLLM lives in its own environment
    env.pop(KEY_VARIABLE, None)
    if key := settings.resolved_api_key():
        env[KEY_VARIABLE] = key
    return env


def _key_reference(settings: ServingSettings) -> str | None:
    """Shell text that yields the API key where it is kept, never the key itself."""
    if settings.api_key_file is not None:
        return f'"$(cat {shlex.quote(os.path.abspath(settings.api_key_file))})"'
    if settings.resolved_api_key():
        return '"${PLANTOPS_SERVING__API_KEY:?the API key: set it, or serving.api_key_file}"'
    return None


def shell_command(settings: ServingSettings, profile: ModelProfile, port: int) -> str:
    """The whole command as an admin can paste it into a shell or a script: the environment
    that keeps vLLM offline, then the command line (`plantops serve --dry-run`)."""
    parts = []
    if (key := _key_reference(settings)) is not None:  # an assignment, not an argument of
        parts.append(f"{KEY_VARIABLE}={key}")  # env: argv is what `ps` shows
    parts.append("env -u PYTHONPATH")
    parts += [f"{name}={shlex.quote(value)}"
              for name, value in launch_variables(settings, profile).items()]
    parts.append(shlex.join(vllm_command(settings, profile, port)))
    return " \\\n  ".join(parts)


def _systemd_quote(text: str) -> str:
    """One ExecStart argument: C-style double quotes; $ and % escaped for systemd."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("$", "$$").replace("%", "%%") + '"'


def systemd_unit(settings: ServingSettings, profile: ModelProfile, port: int) -> str:
    """A unit file that runs the same vLLM: offline variables, the key from a credential
    file, restarted when it dies, and no address beyond loopback when it serves loopback."""
    if settings.api_key_file is None and settings.resolved_api_key():
        raise ServingError("serving.api_key is set as a value, which a unit file would have "
                           "to contain: put the key in a file readable by root only and set "
                           "serving.api_key_file (PLANTOPS_SERVING__API_KEY_FILE) to it")
    argv = vllm_command(settings, profile, port)
    lines = ["[Unit]",
             f"Description=PlantOps model server: vLLM, profile {settings.profile} "
             f"({profile.served_model_name})",
             "After=network.target", "",
             "[Service]", "Type=exec"]
    lines += [f"Environment={name}={value}" for name, value in
              launch_variables(settings, profile, {}).items()]
    if settings.api_key_file is not None:
        lines.append(f"LoadCredential={_CREDENTIAL}:{os.path.abspath(settings.api_key_file)}")
        script = (f'{KEY_VARIABLE}="$(cat "${{CREDENTIALS_DIRECTORY}}/{_CREDENTIAL}")" '
                  f"exec {shlex.join(argv)}")
        lines.append(f"ExecStart=/bin/sh -c {_systemd_quote(script)}")
    else:
        lines.append("ExecStart=" + " ".join(_systemd_quote(a) for a in argv))
    lines += ["Restart=on-failure", "RestartSec=10",
              f"TimeoutStartSec={settings.startup_timeout_s:.0f}",
              "NoNewPrivileges=yes", "PrivateTmp=yes"]
    if settings.host in ("127.0.0.1", "::1", "localhost"):
        lines += ["# Serves this machine only: no address beyond loopback, in or out.",
                  "IPAddressDeny=any", "IPAddressAllow=localhost"]
    else:
        lines += ["# Serves other hosts: to keep it from every other address, uncomment and",
                  "# list the app servers' addresses.",
                  "# IPAddressDeny=any", "# IPAddressAllow=localhost 10.0.0.0/8"]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


class VllmServer:
    """A vLLM process we started; stopped on exit of the `with` block."""

    def __init__(self, settings: ServingSettings, port: int | None = None,
                 log_path: Path | None = None, pid_file: Path | None = None) -> None:
        self.settings = settings
        self.profile = settings.active_profile()
        self.port = port or settings.port
        self.base_url = f"http://{settings.host}:{self.port}/v1"
        self._log_path = log_path
        self._pid_file = PidFile(pid_file) if pid_file else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._stopping = False
        self.leftovers_ended: list[int] = []  # pids of an earlier run's group, ended at start

    def start(self) -> None:
        self._stopping = False
        self._started_at = time.monotonic()
        verify_checksums(self.profile.model_dir)
        if not Path(self.settings.vllm_python).exists():
            raise ServingError(f"vLLM's Python {self.settings.vllm_python} does not exist: "
                               "run `make setup` or set PLANTOPS_SERVING__VLLM_PYTHON")
        if self._pid_file is not None:
            self.leftovers_ended = self._pid_file.end_leftovers(self.settings.stop_grace_s)
        # The child gets its own copy of the log's descriptor; ours is closed at once.
        with (open(self._log_path, "ab") if self._log_path
              else contextlib.nullcontext(subprocess.DEVNULL)) as log:
            self._proc = subprocess.Popen(
                vllm_command(self.settings, self.profile, self.port),
                env=vllm_environment(self.settings, self.profile),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if self._pid_file is not None:  # its group id is its pid (a session of its own)
            self._pid_file.write(self._proc.pid, os.path.abspath(self.settings.vllm_python))

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

    def watch(self, on_exit: Callable[[int, float], None]) -> None:
        """When the API server exits unasked (the OOM killer), end the rest of its group at
        once and call ``on_exit(exit code, seconds it ran)`` — from a thread of its own."""
        proc = self._proc
        if proc is None:
            raise ServingError("vLLM was not started")

        def wait() -> None:
            code = proc.wait()
            if self._stopping or proc is not self._proc:
                return
            end_group(proc.pid, self.settings.stop_grace_s)
            on_exit(code, time.monotonic() - self._started_at)

        threading.Thread(target=wait, name=f"vllm-{self.port}-watch", daemon=True).start()

    def stop(self) -> None:
        """End vLLM's whole process group — the API server and the engine, worker and
        resource tracker it started — even when the API server itself is already dead."""
        self._stopping = True
        if self._proc is None:
            return
        end_group(self._proc.pid, self.settings.stop_grace_s)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        if self._pid_file is not None:
            self._pid_file.remove()

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash of the machine would (failure tests)."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        end_group(self._proc.pid, 1.0)

    def __enter__(self) -> VllmServer:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
