"""Concurrent questions through the full app path: browser API -> Gradio queue ->
retrieval -> prompt -> vLLM -> streamed back. Aggregate throughput must rise
with concurrency, as it does direct to vLLM: nothing in the app serialises.

    .venv/bin/python -m benchmarks.app_concurrency [--ui-url URL] [--vllm-url URL]

Needs a running stack (`make run`). Throughput is counted in streamed answer
characters for both paths (the app's output is rendered text, not tokens).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from gradio_client import Client
from openai import OpenAI

from app.ops.offline import enforce_offline

QUESTIONS = [
    "Homing fails with ALARM 9, could not find the limit switch. What should I check?",
    "How long should the warning horn sound before a printing press starts?",
    "What is an in-running nip point?",
    "Can an operator wipe the die without lockout/tagout?",
]


def through_app(url: str, question: str) -> tuple[float, int]:
    client = Client(url, verbose=False)
    started = time.perf_counter()
    history = client.predict(question, [], api_name="/ask")[0]
    answer = history[-1]["content"] if history else ""
    text = answer if isinstance(answer, str) else str(answer)
    return time.perf_counter() - started, len(text)


def direct(url: str, question: str) -> tuple[float, int]:
    client = OpenAI(base_url=url, api_key="EMPTY")
    model = client.models.list().data[0].id
    started = time.perf_counter()
    chars = 0
    for event in client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": question}], stream=True,
            max_tokens=256, temperature=0):
        if event.choices and event.choices[0].delta.content:
            chars += len(event.choices[0].delta.content)
    return time.perf_counter() - started, chars


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--ui-url", default="http://127.0.0.1:7860/")
    parser.add_argument("--vllm-url", default="http://127.0.0.1:8011/v1")
    args = parser.parse_args()
    for label, call, url in (("direct to vLLM", direct, args.vllm_url),
                             ("full app path", through_app, args.ui_url)):
        print(label)
        for n in (1, 4, 8):
            started = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                runs = list(pool.map(call, [url] * n,
                                     [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]))
            wall = time.perf_counter() - started
            chars = sum(c for _, c in runs)
            print(f"  {n} concurrent: {chars / wall:7.1f} chars/s aggregate "
                  f"({wall:.1f} s wall, slowest {max(t for t, _ in runs):.1f} s)")


if __name__ == "__main__":
    main()
