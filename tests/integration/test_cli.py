"""The `plantops` command as an admin runs it: exit codes and messages."""

import json
import os
import subprocess
from pathlib import Path

from tests import factories
from tests.conftest import ROOT, SAMPLES, copy_index

PLANTOPS = str(ROOT / ".venv/bin/plantops")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLANTOPS, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


# What a command that needs no vector must not load: importing these and loading the
# embedding model took 14-26 s of a 16 s unchanged re-ingest or a 26 s `index stats`.
MODEL_STACK = {"torch", "transformers", "sentence_transformers"}
_PROBE = ("import atexit, sys; from app.commands.cli import main; "
          "atexit.register(lambda: print('LOADED', *sorted(set(sys.modules) & {"
          + ", ".join(repr(m) for m in sorted(MODEL_STACK)) + "}), file=sys.stderr)); "
          "sys.argv = ['plantops', *sys.argv[1:]]; main()")


def run_probed(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``run`` in a process that reports which of MODEL_STACK it imported."""
    result = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", _PROBE, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded, result.stderr[-2000:]
    return result, set(loaded[-1].split()[1:])


def test_ingest_report_stats_and_remove(tmp_path: Path) -> None:
    bad = factories.truncated(tmp_path / "broken.pdf",
                              factories.text_pdf(tmp_path / "x.pdf", ["text " * 600] * 3))
    data = str(tmp_path / "data")
    result = run("--data-dir", data, "ingest", str(SAMPLES), str(bad),
                 "--report", str(tmp_path / "r.json"))
    assert result.returncode == 3, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    failed = [f for f in report["files"] if f["outcome"] == "failed"]
    assert [f["file"] for f in failed] == ["broken.pdf"]

    stats_run, loaded = run_probed("--data-dir", data, "index", "stats", "--json")
    stats = json.loads(stats_run.stdout)
    assert stats["documents"] == 3 and stats["chunks"] > 200  # two manuals, one work-order log
    assert stats["embedding_model"].startswith("all-MiniLM-L6-v2@")
    assert loaded == set(), "index stats loaded the embedding model's stack"

    again, loaded = run_probed("--data-dir", data, "ingest", str(SAMPLES),
                               "--report", str(tmp_path / "again.json"))
    assert again.returncode == 0, again.stderr[-2000:]
    outcomes = {f["outcome"] for f in json.loads((tmp_path / "again.json").read_text())["files"]}
    assert outcomes == {"unchanged"}
    assert loaded == set(), "an unchanged re-ingest loaded the embedding model's stack"

    assert run("--data-dir", data, "index", "remove", "grbl_alarm_and_error_codes.pdf"
               ).returncode == 0
    after = json.loads(run("--data-dir", data, "index", "stats", "--json").stdout)
    assert after["documents"] == 2 and after["chunks"] < stats["chunks"]
    missing = run("--data-dir", data, "index", "remove", "nope.pdf")
    assert missing.returncode == 1 and "not in the index" in missing.stderr


def test_serve_refuses_a_wrong_or_tampered_model_folder(tmp_path: Path, model_dir: Path) -> None:
    wrong = run("serve", env={"PLANTOPS_SERVING__PROFILES__CPU_SMALL__MODEL_DIR": "/nonexistent"})
    assert wrong.returncode == 1
    assert "/nonexistent does not exist" in wrong.stderr and "models prepare" in wrong.stderr

    tampered = tmp_path / "model"
    tampered.mkdir()
    for f in model_dir.iterdir():
        (tampered / f.name).symlink_to(f)
    (tampered / "config.json").unlink()
    (tampered / "config.json").write_text("{}")
    result = run("serve", env={"PLANTOPS_SERVING__PROFILES__CPU_SMALL__MODEL_DIR": str(tampered)})
    assert result.returncode == 1 and "config.json does not match its checksum" in result.stderr


def test_dry_run_prints_the_exact_vllm_command() -> None:
    result = run("serve", "--profile", "gpu-70b-tp4", "--dry-run")
    assert result.returncode == 0
    assert "--tensor-parallel-size 4" in result.stdout and "--quantization awq" in result.stdout


def test_doctor_green_on_running_stack_then_reports_a_blocked_call(
        tmp_path: Path, vllm_server, samples_index: Path) -> None:  # type: ignore[no-untyped-def]
    data = copy_index(samples_index, tmp_path / "data")
    env = {"PLANTOPS_SERVING__BASE_URLS": json.dumps([vllm_server.base_url])}
    green = run("--data-dir", str(data), "doctor", env=env)
    assert green.returncode == 0, green.stdout + green.stderr
    assert "no blocked attempts" in green.stdout
    assert "Tesseract 5." in green.stdout and "language eng" in green.stdout
    no_model = run("--data-dir", str(data), "doctor",
                   env={**env, "PLANTOPS_INGEST__OCR__LANGUAGE": "eng+deu"})
    assert no_model.returncode == 1 and "no model for deu" in no_model.stdout

    # A deliberately added outbound call, made under the same guard the app installs.
    call = ("import socket\nfrom pathlib import Path\n"
            "from app.ops.egress import install_egress_guard\n"
            f"install_egress_guard(set(), Path({str(data / 'egress-blocked.jsonl')!r}))\n"
            "try:\n    socket.create_connection(('192.0.2.10', 443), timeout=2)\n"
            "except PermissionError:\n    pass\n")
    subprocess.run([str(ROOT / ".venv/bin/python"), "-c", call], cwd=ROOT, check=True)
    red = run("--data-dir", str(data), "doctor", env=env)
    assert red.returncode == 1
    assert "1 blocked attempt(s)" in red.stdout and "192.0.2.10" in red.stdout


def test_ask_without_a_model_server_prints_plain_sources(tmp_path: Path) -> None:
    from tests.conftest import free_port

    data = str(tmp_path / "data")
    assert run("--data-dir", data, "ingest", str(SAMPLES / "grbl_alarm_and_error_codes.pdf")
               ).returncode == 0
    dead = {"PLANTOPS_SERVING__BASE_URLS": json.dumps([f"http://127.0.0.1:{free_port()}/v1"])}
    result = run("--data-dir", data, "ask", "Homing fail ALARM 9: what should I check?",
                 env=dead)
    assert result.returncode == 1
    assert "[model_unavailable]" in result.stdout
    assert "[1] grbl_alarm_and_error_codes.pdf, page 1" in result.stdout


def test_models_prepare_checksums_every_model_folder_present(tmp_path: Path,
                                                             model_dir: Path) -> None:
    gpu = tmp_path / "llama"
    gpu.mkdir()
    (gpu / "config.json").write_text("{}")
    env = {"PLANTOPS_SERVING__PROFILES__CPU_SMALL__MODEL_DIR": str(model_dir),
           "PLANTOPS_SERVING__PROFILES__GPU_8B__MODEL_DIR": str(gpu)}
    first = run("models", "prepare", env=env)
    assert first.returncode == 0, first.stderr
    assert (gpu / "SHA256SUMS").read_text().endswith("  config.json\n")
    (gpu / "config.json").write_text('{"changed": true}')
    second = run("models", "prepare", env=env)
    assert second.returncode == 1 and "config.json does not match" in second.stderr


def test_users_are_managed_from_the_command_line_and_sign_in_needs_one(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    remote = {"PLANTOPS_UI__HOST": "0.0.0.0", "PLANTOPS_UI__PORT": "1"}
    refused = run("--data-dir", data, "ui", env=remote)  # no users yet: nobody could sign in
    assert refused.returncode == 2 and "plantops users add" in refused.stderr

    def users(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([PLANTOPS, "--data-dir", data, "users", *args], cwd=ROOT,
                              input=password, capture_output=True, text=True, timeout=60)

    assert users("add", "Anna", "--role", "admin", "--password-stdin",
                 password="long enough\n").returncode == 0
    short = users("add", "bob", "--role", "operator", "--password-stdin", password="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert users("add", "bob", "--role", "operator", "--password-stdin",
                 password="bob's password\n").returncode == 0
    listed = users("list").stdout
    assert "anna" in listed and "admin" in listed and "bob" in listed and "operator" in listed
    assert users("passwd", "bob", "--password-stdin", password="new password\n").returncode == 0
    assert users("remove", "bob").returncode == 0
    gone = users("remove", "bob")
    assert gone.returncode == 1 and "no user 'bob'" in gone.stderr
    assert "bob" not in users("list").stdout

    export = run("--data-dir", data, "audit", "export", "--out", str(tmp_path / "audit.csv"))
    assert export.returncode == 0
    assert (tmp_path / "audit.csv").read_text().startswith("id,time_utc,user,role,action")
