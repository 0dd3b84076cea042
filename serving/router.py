"""The vLLM project's router (`vllm-router`, a Rust binary from PyPI) in front of several
vLLM replicas, started here for bare metal, the router benchmark and the failover tests.
Compose and Kubernetes run the same flags from their own files (deploy/k8s/base/router.yaml).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from serving.errors import ServingError

# A dead replica has no requests in flight, so power-of-two (and least-load) choices pick it
# first: with the defaults (a breaker opened after 5 failures, a replica unhealthy after 3
# failed checks) every retry went to it for ~6 s and a question got no answer. Two failed
# sends open its breaker (retried for 10 s), two failed checks take it out.
ROUTER_FLAGS = ["--policy", "power_of_two", "--health-check-endpoint", "/health",
                "--health-check-interval-secs", "2", "--health-failure-threshold", "2",
                "--cb-failure-threshold", "2", "--cb-timeout-duration-secs", "10"]


def router_command(binary: Path, worker_urls: Sequence[str], host: str, port: int) -> list[str]:
    return [str(binary), "--host", host, "--port", str(port), *ROUTER_FLAGS,
            "--worker-urls", *worker_urls, "--worker-startup-timeout-secs", "300"]


class VllmRouter:
    """A vllm-router process we started; its OpenAI-compatible base URL once it answers."""

    def __init__(self, binary: Path, worker_urls: Sequence[str], port: int,
                 log_path: Path, host: str = "127.0.0.1") -> None:
        self.command = router_command(binary, worker_urls, host, port)
        self.base_url = f"http://{host}:{port}/v1"
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_within_s: float = 120) -> None:
        if not Path(self.command[0]).exists():
            raise ServingError(f"{self.command[0]} does not exist: run `make router`")
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_within_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                if httpx.get(self.base_url + "/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise ServingError(f"vllm-router did not answer on {self.base_url} within "
                           f"{ready_within_s:.0f} s; see {self._log_path}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
