"""What one retrieval-only answer costs the UI process in CPU, with and without the kept
sentence vectors (retrieval.sentence_cache): novel questions, then the same questions reworded
(as follow-ups and other operators ask about the same fault). Prints CPU and wall seconds per
answer and the ratios. No model server: the answer is the quoted passages, as in the failover
test; what the model would add is the model server's CPU, not the UI's.

    .venv/bin/python -m benchmarks.answer_cpu [--data-dir DIR]   # default: the samples
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Homing fail: what should I check?", "soft limit alarm after homing, what now?",
             "grbl hard limit triggered, what do I do?",
             "What does ALARM:2 mean and what should I check?",
             "How do I lock out the press before clearing a jam?",
             "How often should the drive chain be greased?"]
REWORDED = ["homing failed, what to check", "what now after a soft limit alarm when homing",
            "hard limit triggered on grbl: what to do", "ALARM:2, what does it mean?",
            "lock out the press to clear a jam: how?", "drive chain greasing interval"]


def per_answer(services: Services, questions: list[str]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for question in questions:
        list(services.assistant.answer(question))
    return ((time.process_time() - cpu) / len(questions),
            (time.perf_counter() - wall) / len(questions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    enforce_offline()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="answer-cpu-"))
    down = ["http://127.0.0.1:9/v1"]  # nothing listens: retrieval-only answers
    if args.data_dir is None:
        Services(Settings(data_dir=data, serving={"base_urls": down})).ingestor.ingest(
            [ROOT / "samples" / "documents"])
    rows = {}
    for kept in (0, 20_000):
        services = Services(Settings(data_dir=data, serving={"base_urls": down},
                                     retrieval={"sentence_cache": kept}))
        list(services.assistant.answer("warm up: load the model and the index"))
        rows[kept] = (per_answer(services, QUESTIONS), per_answer(services, REWORDED))
    print(f"{'sentence_cache':>15} {'novel cpu s':>12} {'novel wall s':>13} "
          f"{'reworded cpu s':>15} {'reworded wall s':>16}")
    for kept, ((cpu, wall), (cpu2, wall2)) in rows.items():
        print(f"{kept:>15} {cpu:>12.3f} {wall:>13.3f} {cpu2:>15.3f} {wall2:>16.3f}")
    (cpu0, _), (rcpu0, _) = rows[0]
    (cpu1, _), (rcpu1, _) = rows[20_000]
    print(f"kept/none CPU per answer: novel {cpu1 / cpu0:.2f}x, reworded {rcpu1 / rcpu0:.2f}x")


if __name__ == "__main__":
    main()
