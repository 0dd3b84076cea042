"""Simulated operators asking at once through the real app (Gradio API, signed in)
and the real model server: errors, time to first token, and whether the requests
really overlapped (nothing in the app serialises them).

    .venv/bin/python -m benchmarks.load [--url URL] [--users 20] [--auth NAME:PASSWORD]

Needs a running stack (`make run`, or `plantops ui` with sign-in). Time to first
token is measured twice: in the client (first streamed answer text seen) and in
the app (the audit log's first_token_s, from question received to first token).
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gradio_client import Client

from app.ops.offline import enforce_offline

QUESTIONS = [
    "Homing fails with ALARM 9, could not find the limit switch. What should I check?",
    "What does ALARM 1 hard limit mean and how do I recover?",
    "How long should the warning horn sound before a printing press starts?",
    "What is an in-running nip point?",
    "Can an operator wipe the die without lockout/tagout?",
    "What does error 20 unsupported command mean in grbl?",
    "Which guards protect a mechanical power press point of operation?",
    "Soft limit alarm during a job: is the machine position still valid?",
]

_PLACEHOLDERS = ("Searching the documents", "Writing the answer")
_UNWRITTEN = "No written answer"  # the model was busy or down: the passages alone


@dataclass(frozen=True)
class Request:
    started: float
    first_text: float | None  # monotonic time the first answer text arrived
    finished: float
    error: str = ""
    written: bool = True  # False: the model did not answer (busy or down), passages only


@dataclass(frozen=True)
class LoadResult:
    requests: list[Request]
    wall_s: float

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.requests if r.error]

    @property
    def unwritten(self) -> int:
        """Users who got the passages without the model's answer (model busy or down)."""
        return sum(not r.written for r in self.requests if not r.error)

    @property
    def ttft_s(self) -> list[float]:
        return sorted(r.first_text - r.started for r in self.requests if r.first_text)

    @property
    def max_in_flight(self) -> int:
        """The most requests open at one instant (queued or answering)."""
        return _peak_overlap([(r.started, r.finished) for r in self.requests])

    @property
    def max_streaming(self) -> int:
        """The most answers being written at one instant: the proof that the app and the
        model served users side by side rather than one after another."""
        return _peak_overlap([(r.first_text, r.finished) for r in self.requests
                              if r.first_text is not None])

    def percentile(self, p: float) -> float:
        values = self.ttft_s
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]

    def summary(self) -> str:
        busy = sum(r.finished - r.started for r in self.requests)
        return (f"{len(self.requests)} users: errors {len(self.errors)}, without the model's "
                f"answer {self.unwritten}, time to first answer "
                f"text p50 {self.percentile(50):.1f} s / p95 {self.percentile(95):.1f} s, "
                f"max in flight {self.max_in_flight}, max streaming at once "
                f"{self.max_streaming}, wall {self.wall_s:.1f} s, "
                f"sum of request times / wall {busy / self.wall_s:.1f}x")


def _peak_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def _has_answer_text(output: object) -> bool:
    """Whether the streamed answer (Markdown) holds text the model wrote."""
    content = output if isinstance(output, str) else ""
    return bool(content) and not any(p in content for p in _PLACEHOLDERS)


def ask(url: str, question: str, auth: tuple[str, str] | None,
        start_barrier: float) -> Request:
    # one session per simulated user; a CPU server busy with 20 prompts answers even the
    # queue's join request late, which httpx's 5 s default would count as an error
    client = Client(url, auth=auth, verbose=False, httpx_kwargs={"timeout": 120})
    while time.monotonic() < start_barrier:  # everyone asks at the same moment
        time.sleep(0.005)
    started = time.monotonic()
    first = None
    last: object = ""
    try:
        job = client.submit(question, api_name="/ask")
        for output in job:
            last = output
            if first is None and _has_answer_text(output):
                first = time.monotonic()
        job.result()
    except Exception as exc:  # a load test reports errors, it does not stop at one
        return Request(started, first, time.monotonic(), f"{type(exc).__name__}: {exc}")
    return Request(started, first, time.monotonic(),
                   written=_UNWRITTEN not in (last if isinstance(last, str) else ""))


def run_load(url: str, users: int, auth: tuple[str, str] | None = None) -> LoadResult:
    start = time.monotonic() + 3.0  # time for every client to connect first
    with ThreadPoolExecutor(users) as pool:
        requests = list(pool.map(lambda i: ask(url, QUESTIONS[i % len(QUESTIONS)], auth,
                                               start), range(users)))
    return LoadResult(requests, max(r.finished for r in requests) - start)


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--auth", help="NAME:PASSWORD when the UI requires sign-in")
    args = parser.parse_args()
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    result = run_load(args.url, args.users, auth)  # type: ignore[arg-type]
    print(result.summary())
    for error in result.errors[:5]:
        print("  error:", error)
    if result.ttft_s:
        print(f"  time to first answer text: min {min(result.ttft_s):.1f} s, "
              f"mean {statistics.mean(result.ttft_s):.1f} s, max {max(result.ttft_s):.1f} s")


if __name__ == "__main__":
    main()
