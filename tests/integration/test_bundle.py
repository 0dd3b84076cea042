"""The offline bundle: installed with no network at all, it ingests and answers from
the index; a tampered bundle installs nothing and names the bad file.

`make test` builds a small bundle (app environment, no model folders) while the network
is still up (var/bundle-test/); these tests only install it, inside `unshare --net`.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests import factories
from tests.conftest import ON_CI, ROOT, free_port

BUNDLES = ROOT / "var" / "bundle-test"


@pytest.fixture(scope="module")
def bundle_archive() -> Path:
    found = sorted(BUNDLES.glob("plantops-bundle-*.tar"))
    if not found:
        message = (f"no test bundle in {BUNDLES}: `make var/bundle-test/.built` builds it "
                   "(it downloads wheels, so it runs before the offline test run)")
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found[-1]


def unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "plantops-bundle"


def offline(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run with no network at all: a new network namespace with only loopback."""
    wrapped = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *cmd]
    clean_env = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PLANTOPS_", "PIP_", "VIRTUAL_ENV", "PYTHONPATH"))}
    return subprocess.run(wrapped, capture_output=True, text=True,
                          env={**clean_env, **kw.pop("env", {})}, **kw)


def test_installed_offline_it_ingests_and_answers_from_the_index(
        bundle_archive: Path, tmp_path: Path) -> None:
    bundle = unpack(bundle_archive, tmp_path / "medium")
    prefix = tmp_path / "opt-plantops"
    installed = offline(["sh", str(bundle / "install.sh"), str(prefix)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert "checksums OK" in installed.stderr

    plantops = str(prefix / ".venv/bin/plantops")
    where = offline([str(prefix / ".venv/bin/python"), "-c", "import app; print(app.__file__)"],
                    cwd=tmp_path)
    assert where.stdout.startswith(str(prefix)), where  # the installed copy, not this checkout
    data = str(tmp_path / "data")
    scans = tmp_path / "scans"
    scans.mkdir()
    factories.image_only_pdf(scans / "pump_scan.pdf", tmp_path)  # OCR: model from the bundle
    ingest = offline([plantops, "--data-dir", data, "ingest", str(prefix / "samples/documents"),
                      str(scans)], cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    no_model = {"PLANTOPS_SERVING__BASE_URLS": f'["http://127.0.0.1:{free_port()}/v1"]'}
    ask = offline([plantops, "--data-dir", data, "ask",
                   "Homing fails with ALARM 9, could not find the limit switch"],
                  cwd=tmp_path, env=no_model)
    assert "grbl_alarm_and_error_codes.pdf, page" in ask.stdout, ask.stdout + ask.stderr
    assert "unreachable" in ask.stdout  # no model server here: retrieval-only, with sources
    scanned = offline([plantops, "--data-dir", data, "ask", "P-101A seal replacement"],
                      cwd=tmp_path, env=no_model)
    assert "pump_scan.pdf, page 1 (OCR text)" in scanned.stdout, scanned.stdout + scanned.stderr


def test_a_tampered_bundle_installs_nothing_and_names_the_file(
        bundle_archive: Path, tmp_path: Path) -> None:
    bundle = unpack(bundle_archive, tmp_path / "medium")
    victim = sorted((bundle / "wheels").glob("*.whl"))[0]
    with victim.open("ab") as fh:
        fh.write(b"tampered")
    prefix = tmp_path / "opt-plantops"
    refused = offline(["sh", str(bundle / "install.sh"), str(prefix)], cwd=tmp_path)
    assert refused.returncode == 2
    assert "REFUSED" in refused.stderr and victim.name in refused.stderr, refused.stderr
    assert not (prefix / ".venv").exists()

    victim.unlink()  # an added file is refused too, even when the listed ones are intact
    with tarfile.open(bundle_archive) as tar:
        member = tar.getmember(f"plantops-bundle/wheels/{victim.name}")
        victim.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    (bundle / "wheels" / "extra-0.1-py3-none-any.whl").write_bytes(b"PK")
    refused = offline(["sh", str(bundle / "install.sh"), str(prefix)], cwd=tmp_path)
    assert refused.returncode == 2 and "extra-0.1-py3-none-any.whl" in refused.stderr
