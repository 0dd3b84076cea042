"""`plantops plan` against the real CPU vLLM: measured with benchmarks.serving, planned from
that file, and the plan's prediction checked against a fresh load run."""

import json
import subprocess
from pathlib import Path

from openai import OpenAI

from benchmarks.serving import measure
from tests.conftest import ROOT


def test_a_plan_from_a_measurement_predicts_a_fresh_run_within_a_quarter(  # type: ignore[no-untyped-def]
        vllm_server, tmp_path: Path) -> None:
    client = OpenAI(base_url=vllm_server.base_url, api_key="EMPTY")
    model = client.models.list().data[0].id
    out = tmp_path / "cpu.json"
    out.write_text(json.dumps(measure(client, model, [1, 4], prompt_tokens=200,
                                      answer_tokens=32, rounds=2)))
    planned = subprocess.run(
        [str(ROOT / ".venv/bin/plantops"), "plan", "--peak-concurrent", "2",
         "--prompt-tokens", "200", "--answer-tokens", "32", "--ttft-p95", "60s",
         "--min-tokens-per-s", "0.1", "--measured", str(out), "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    [measured] = [p for p in json.loads(planned.stdout)["plans"] if p["measured"]]
    assert measured["replicas"] == 1  # 2 streams on one replica: between the points 1 and 4
    fresh = measure(client, model, [2], prompt_tokens=200, answer_tokens=32, rounds=2)
    per_user = fresh["points"][0]["tokens_per_s"] / 2
    assert abs(measured["tokens_per_s_per_user"] - per_user) <= 0.25 * per_user, (
        measured, fresh)
    assert fresh["hardware"]["gpus"] == 0 and fresh["hardware"]["cpu_cores"]
