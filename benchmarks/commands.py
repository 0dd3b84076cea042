"""Wall time of the commands an admin types, each a cold process, as the admin waits for it.

    .venv/bin/python -m benchmarks.commands --data-dir /tmp/eval \\
        --paths ../shared/corpus/manuals ../shared/corpus/logs [--runs 5]

The data folder must already hold an index of ``--paths`` (the first ingest is timed by
benchmarks.ingest): what is timed here is work that needs no embedding — an unchanged
re-ingest, ``index stats``, ``users list``, ``doctor`` — against the targets of issue #16.
``doctor`` includes its model-server check; without a server that check fails fast.

Where rfc3987-syntax is installed (cyclonedx-bom's validation extra brings it), jsonschema,
which Chroma imports, compiles ~40 grammars at import: 1-4 s on every command. Neither the
app's lock nor its test extras install it any more (the Makefile keeps the SBOM tool in
.venv-tools); the figures say whether it was present.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {  # seconds, whole process
    "ingest (unchanged)": 2.0,
    "index stats --json": 1.0,
    "users list": 1.0,
    "doctor": 3.0,
}


def time_command(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--paths", nargs="+", required=True, help="what the index was built from")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plantops = [str(Path(sys.executable).with_name("plantops")), "--data-dir", str(args.data_dir)]
    commands = {
        "ingest (unchanged)": [*plantops, "ingest", *args.paths],
        "index stats --json": [*plantops, "index", "stats", "--json"],
        "users list": [*plantops, "users", "list"],
        "doctor": [*plantops, "doctor"],
    }
    extra = importlib.util.find_spec("rfc3987_syntax") is not None
    print(f"environment: {sys.prefix} "
          f"({'rfc3987-syntax present: +1-4 s per command' if extra else 'no rfc3987-syntax'})")
    print(f"{'command':<22} {'median s':>9} {'min s':>7} {'target s':>9} {'median/target':>14}")
    for name, argv in commands.items():
        times = time_command(argv, args.runs)
        median = statistics.median(times)
        print(f"{name:<22} {median:9.2f} {min(times):7.2f} {TARGETS[name]:9.1f} "
              f"{median / TARGETS[name]:14.2f}")


if __name__ == "__main__":
    main()
