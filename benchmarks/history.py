"""Work-order history: how long an asset's history and a history question take, and what
keeping the rows costs an ingest of the logs.

    .venv/bin/python -m benchmarks.history --data-dir /tmp/eval --logs ../shared/corpus/logs \\
        [--questions ../shared/eval/dev.jsonl] [--skip-ingest]

1. An asset's whole history (`HistoryFinder.asset_history`, what Search and `plantops history
   ASSET` run), for every asset of the index in turn, warm: p50 / p95 / max.
2. History questions as the Ask tab answers them (route + find: embedding the subject, the
   dense neighbours, every-word matching), the `log_lookup` questions of the set: p50 / p95.
3. Ingest of the log files into two fresh data folders, with and without the rows (the same
   embedding model, loaded before timing): the ratio is what the rows cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from app.services import Services
from app.settings import Settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_ms(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:.2f} ms, p95 "
            f"{percentile(values, 0.95) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms "
            f"(n={len(values)})")


def ingest_seconds(logs: Path, embedder: object, keep_rows: bool) -> float:
    with tempfile.TemporaryDirectory() as folder:
        services = Services(Settings(data_dir=Path(folder)))
        services.embedder = embedder  # type: ignore[assignment]
        if not keep_rows:
            services.ingestor._records = None  # the ingest of before: chunks only
        started = time.perf_counter()
        report = services.ingestor.ingest([logs])
        seconds = time.perf_counter() - started
        assert report.exit_code == 0, report.failed
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("../shared/eval/dev.jsonl"))
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    services = Services(Settings(data_dir=args.data_dir))
    finder = services.history
    snapshot = services.records.snapshot()
    assets = sorted(snapshot.assets)
    print(f"{len(snapshot.orders):,} work orders, {len(assets):,} assets")
    for asset in assets[:5]:
        finder.asset_history(asset)  # warm
    times = []
    for asset in assets:
        started = time.perf_counter()
        finder.asset_history(asset)
        times.append(time.perf_counter() - started)
    print(f"asset history (every asset once): {timed_ms(times)}")

    questions = [json.loads(line)["question"] for line in
                 args.questions.read_text(encoding="utf-8").splitlines()
                 if line and json.loads(line)["kind"] == "log_lookup"]
    services.retriever.retrieve(questions[0])  # loads the model
    times = []
    for question in questions:
        started = time.perf_counter()
        hits = services.retriever.retrieve(question)
        asked = finder.route(question, hits)
        if asked is not None:
            finder.find(asked)
        times.append(time.perf_counter() - started)
    print(f"history question, retrieval + route + find: {timed_ms(times)}")

    if not args.skip_ingest:
        services.embedder.embed(["warm up"])
        without = ingest_seconds(args.logs, services.embedder, keep_rows=False)
        with_rows = ingest_seconds(args.logs, services.embedder, keep_rows=True)
        print(f"ingest of {args.logs}: {without:.1f} s chunks only, {with_rows:.1f} s with the "
              f"rows: ratio {with_rows / without:.3f}")


if __name__ == "__main__":
    main()
