"""Tokens/s and time to first token: the app's client vs. direct to vLLM.

Same prompts, same server, one run; then 1/4/8 concurrent streams through the
app's client. Needs a running vLLM (`plantops serve`), default 127.0.0.1:8011.

    .venv/bin/python -m benchmarks.serving [--base-url URL] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI

from app.offline import enforce_offline
from serving.client import ChatMessage, ModelClient
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


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="http://127.0.0.1:8011/v1")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
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
