"""The app's own routing vs the vLLM project's router (vllm-router), on the same two CPU vLLM
replicas started here (loopback): tokens/s and p95 time to first token under load, and what
users see when one replica is SIGKILLed while answers stream.

    make router    # vllm-router in .venv-router
    .venv/bin/python -m benchmarks.router [--concurrency 4] [--rounds 3] [--json OUT]

"app": ModelClient with both replicas in serving.base_urls (least answers in flight, a retry
on the other replica before the first token). "router": ModelClient with the router's URL
alone (one replica as far as the app knows; the router picks, retries and trips its breaker).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.ops.offline import enforce_offline
from serving.client import ChatMessage, ModelClient
from serving.errors import ModelServerUnavailable, StreamInterrupted
from serving.launch import VllmServer
from serving.router import VllmRouter
from serving.settings import ServingSettings

ROOT = Path(__file__).resolve().parents[1]
ANSWER_TOKENS = 48
QUESTIONS = ["List the steps to lock out a mechanical power press before clearing a jam.",
             "Explain what a grbl homing cycle does and why it may fail.",
             "What should an operator check when a stepper motor loses steps?",
             "Describe how to inspect a conveyor belt for wear."]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(urls: list[str]) -> ServingSettings:
    return ServingSettings(base_urls=urls, max_answer_tokens=ANSWER_TOKENS,
                           vllm_python=ROOT / ".venv-vllm/bin/python")


def one(client: ModelClient, question: str) -> tuple[str, float, int]:
    """(outcome, seconds to the first token or nan, pieces)."""
    started, first, pieces = time.perf_counter(), float("nan"), 0
    try:
        for _ in client.stream([ChatMessage("user", question)]):
            if pieces == 0:
                first = time.perf_counter() - started
            pieces += 1
    except StreamInterrupted:
        return "cut mid-answer", first, pieces
    except ModelServerUnavailable:
        return "no answer", first, pieces
    return "complete", first, pieces


def load(client: ModelClient, concurrency: int, rounds: int) -> dict[str, float]:
    runs: list[tuple[str, float, int]] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for r in range(rounds):
            runs += pool.map(lambda i, r=r: one(client, f"({r}.{i}) {QUESTIONS[i % 4]}"),
                             range(concurrency))
    seconds = time.perf_counter() - started
    firsts = sorted(r[1] for r in runs if r[0] == "complete")
    return {"tokens_per_s": round(sum(r[2] for r in runs) / seconds, 1),
            "ttft_p95_ms": round(firsts[int(0.95 * (len(firsts) - 1))] * 1000),
            "ttft_median_ms": round(statistics.median(firsts) * 1000),
            "complete": sum(r[0] == "complete" for r in runs), "asked": len(runs)}


def kill_during(client: ModelClient, victim: VllmServer, concurrency: int) -> dict[str, object]:
    """``concurrency`` questions at once; the victim SIGKILLed once the first tokens flow;
    then as many questions again at once, right after."""
    results: list[tuple[str, float, int]] = []
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(one, client, f"(kill {i}) {QUESTIONS[i % 4]}")
                   for i in range(concurrency)]
        time.sleep(1.5)
        killer = threading.Thread(target=victim.kill)
        killer.start()
        results = [f.result() for f in futures]
        killer.join()
    after = [one(client, f"(after {i}) {QUESTIONS[i % 4]}") for i in range(concurrency)]
    return {"during": dict(Counter(r[0] for r in results)),
            "next": dict(Counter(r[0] for r in after)),
            "next_first_ttft_ms": round(after[0][1] * 1000) if after[0][1] == after[0][1]
            else None}


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--logs", type=Path, default=Path("/tmp/plantops-router-bench"))
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    base = settings([])
    replicas = [VllmServer(base, port=free_port(), log_path=args.logs / f"vllm{n}.log")
                for n in (1, 2)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.wait_ready()
    router = VllmRouter(ROOT / ".venv-router/bin/vllm-router",
                        [r.base_url.removesuffix("/v1") for r in replicas], free_port(),
                        args.logs / "router.log")
    router.start()
    modes = {"app": [r.base_url for r in replicas], "router": [router.base_url]}
    figures: dict[str, dict[str, object]] = {m: {} for m in modes}
    try:
        for mode, urls in modes.items():
            client = ModelClient(settings(urls))
            one(client, "warm up")
            figures[mode]["load"] = load(client, args.concurrency, args.rounds)
            print(mode, "load", figures[mode]["load"], flush=True)
        for mode, urls in modes.items():
            if not replicas[1].pid or replicas[1]._proc.poll() is not None:  # noqa: SLF001
                replicas[1].start()
                replicas[1].wait_ready()
                time.sleep(5)  # the router's health check sees it back
            figures[mode]["kill"] = kill_during(ModelClient(settings(urls)), replicas[1],
                                                args.concurrency)
            print(mode, "kill", figures[mode]["kill"], flush=True)
    finally:
        router.stop()
        for replica in replicas:
            replica.stop()
    app, via = figures["app"]["load"], figures["router"]["load"]
    print(f"\nrouter / app: tokens/s {via['tokens_per_s'] / app['tokens_per_s']:.2f}x, "  # type: ignore[index, operator]
          f"p95 TTFT {via['ttft_p95_ms'] / app['ttft_p95_ms']:.2f}x")  # type: ignore[index, operator]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
