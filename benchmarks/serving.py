"""Tokens/s and time to first token: the app's client vs. direct to vLLM.

Same prompts, same server, one run; then 1/4/8 concurrent streams through the
app's client. Needs a running vLLM (`plantops serve`), default 127.0.0.1:8011.

    .venv/bin/python -m benchmarks.serving [--base-url URL] [--rounds N]

With ``--json OUT`` it measures the server for `plantops plan` instead: at each concurrency
of ``--concurrency`` (default 1 2 4), ``--rounds`` batches of that many streams of a
``--prompt-tokens`` prompt and exactly ``--answer-tokens`` answer tokens (ignore_eos), and
writes aggregate tokens/s, p95 TTFT and the hardware it ran on (nvidia-smi, else the CPU).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from openai import OpenAI

from app.ops.offline import enforce_offline
from serving.client import ChatMessage, ModelClient
from serving.preflight import local_gpus
from serving.settings import ServingSettings

PROMPTS = [
    "List the steps to lock out a mechanical power press before clearing a jam.",
    "Explain what a grbl homing cycle does and why it may fail.",
    "What should an operator check when a stepper motor loses steps?",
    "Describe how to inspect a conveyor belt for wear.",
]
MAX_TOKENS = 96


def direct(client: OpenAI, model: str, prompt: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first, pieces = 0.0, 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], stream=True,
        max_tokens=MAX_TOKENS, temperature=0)
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            first = first or time.perf_counter() - started
            pieces += 1
    return first, time.perf_counter() - started, pieces


def through_app(client: ModelClient, prompt: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first, pieces = 0.0, 0
    for _ in client.stream([ChatMessage("user", prompt)]):
        first = first or time.perf_counter() - started
        pieces += 1
    return first, time.perf_counter() - started, pieces


def summarise(label: str, runs: list[tuple[float, float, int]]) -> tuple[float, float]:
    ttft = statistics.median(r[0] for r in runs) * 1000
    rate = sum(r[2] for r in runs) / sum(r[1] for r in runs)
    print(f"{label:<22} median TTFT {ttft:7.1f} ms   {rate:6.1f} tokens/s per stream")
    return ttft, rate


def hardware() -> dict[str, object]:
    """The GPUs (nvidia-smi, as the preflight reads them) or, without them, the CPU."""
    gpus = local_gpus()
    if gpus:
        return {"gpus": len(gpus), "gpu_model": gpus[0].name}
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"gpus": 0, "cpu_model": model, "cpu_cores": os.cpu_count()}


def one_stream(client: OpenAI, model: str, prompt: str,
               answer_tokens: int) -> tuple[float, int, int]:
    """(TTFT s, answer tokens, prompt tokens) of one streamed answer of exactly
    ``answer_tokens`` tokens."""
    started = time.perf_counter()
    ttft, usage = 0.0, None
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], stream=True,
        max_tokens=answer_tokens, temperature=0, stream_options={"include_usage": True},
        extra_body={"ignore_eos": True, "min_tokens": answer_tokens})
    for event in stream:
        if event.choices and event.choices[0].delta.content and not ttft:
            ttft = time.perf_counter() - started
        usage = event.usage or usage
    return ttft, usage.completion_tokens if usage else 0, usage.prompt_tokens if usage else 0


def measure(client: OpenAI, model: str, levels: list[int], prompt_tokens: int,
            answer_tokens: int, rounds: int) -> dict[str, object]:
    """The load curve `plantops plan` reads (app.ops.planning.load_measurement)."""
    body = "pump " * max(prompt_tokens - 12, 1)
    count = itertools.count()

    def prompt() -> str:  # a new first line each time: vLLM's prefix cache must not help
        return f"Record {next(count)} {time.time_ns()}: summarise it. {body}"

    one_stream(client, model, prompt(), 8)  # warm up
    points, prompt_seen = [], []
    for n in levels:
        ttfts, tokens, wall = [], 0, 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                runs = list(pool.map(lambda _: one_stream(client, model, prompt(),
                                                          answer_tokens), range(n)))
            wall += time.perf_counter() - started
            ttfts += [r[0] for r in runs]
            tokens += sum(r[1] for r in runs)
            prompt_seen += [r[2] for r in runs]
        ttfts.sort()
        p95 = ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))]
        points.append({"concurrency": n, "tokens_per_s": round(tokens / wall, 2),
                       "ttft_p95_s": round(p95, 3)})
        print(f"{n:3d} streams: {tokens / wall:8.1f} tokens/s aggregate, "
              f"{tokens / wall / n:6.1f} per stream, p95 TTFT {p95 * 1000:6.0f} ms")
    return {"model": model, "prompt_tokens": round(statistics.mean(prompt_seen)),
            "answer_tokens": answer_tokens, "points": points, "hardware": hardware(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="http://127.0.0.1:8011/v1")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="measure for `plantops plan`, write here")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--answer-tokens", type=int, default=64)
    args = parser.parse_args()
    if args.json:
        settings = ServingSettings(base_urls=[args.base_url])
        raw = OpenAI(base_url=args.base_url, api_key=settings.resolved_api_key() or "EMPTY")
        model = raw.models.list().data[0].id
        result = measure(raw, model, args.concurrency, args.prompt_tokens,
                         args.answer_tokens, args.rounds)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {args.json}")
        return
    settings = ServingSettings(base_urls=[args.base_url], max_answer_tokens=MAX_TOKENS)
    app_client = ModelClient(settings)
    raw = OpenAI(base_url=args.base_url, api_key=settings.resolved_api_key() or "EMPTY")
    model = app_client.model_name
    through_app(app_client, "warm up")

    direct_runs, app_runs = [], []
    for _ in range(args.rounds):  # interleaved, so load drifts hit both sides alike
        for prompt in PROMPTS:
            direct_runs.append(direct(raw, model, prompt))
            app_runs.append(through_app(app_client, prompt))
    d_ttft, d_rate = summarise("direct to vLLM", direct_runs)
    a_ttft, a_rate = summarise("through app client", app_runs)
    print(f"ratio tokens/s app/direct: {a_rate / d_rate:.3f}   "
          f"TTFT overhead: {a_ttft - d_ttft:+.1f} ms")

    print("\nconcurrent streams through the app client (aggregate tokens/s):")
    for n in (1, 4, 8):
        started = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            runs = list(pool.map(lambda i: through_app(app_client, PROMPTS[i % len(PROMPTS)]),
                                 range(n)))
        wall = time.perf_counter() - started
        print(f"  {n} streams: {sum(r[2] for r in runs) / wall:6.1f} tokens/s aggregate, "
              f"median TTFT {statistics.median(r[0] for r in runs) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
