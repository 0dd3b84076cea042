"""Retrieval latency at ≥ 100k chunks: the corpus plus generated filler, real ingest.

    .venv/bin/python -m benchmarks.retrieval_scale --data-dir DIR \\
        --corpus ../shared/corpus/manuals ../shared/corpus/logs \\
        --questions ../shared/eval/dev.jsonl [--total 100000]

Filler is made from the corpus itself so it looks like what a plant indexes: work orders
whose descriptions are real ones under new asset tags (FX0000…, never a real tag) and
Markdown "manuals" whose sections are real manual sentences shuffled. It goes through
the same Ingestor as real documents (Chroma, BM25, manifest). The index is kept in DIR:
a second run skips the build. Then it prints the latency per stage of the questions
(benchmarks.retrieval.stage_latency). Quality is not measured at this size: the filler
repeats real sentences and descriptions, so it holds copies of the answers.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import time
from pathlib import Path

from app.evaluation import load_questions
from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings
from benchmarks.retrieval import stage_latency
from ingest.contract import Chunk, DocType
from ingest.discovery import discover_sources
from ingest.tags import equipment_tags

_ROWS_PER_FILE = 10_000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _filler_work_orders(real: list[Chunk], count: int, folder: Path, rng: random.Random) -> None:
    descriptions = [c.text for c in real]
    for part in range(0, count, _ROWS_PER_FILE):
        name = f"filler_{folder.name}_work_orders_{part // _ROWS_PER_FILE:03d}.csv"
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["work_order_id", "description", "date"])
            for i in range(part, min(part + _ROWS_PER_FILE, count)):
                text = rng.choice(descriptions)
                for tag in equipment_tags(text):
                    text = re.sub(re.escape(tag), f"FX{rng.randrange(10_000):04d}", text,
                                  flags=re.IGNORECASE)
                writer.writerow([f"filler-{i}", text,
                                 f"20{rng.randrange(15, 25)}-{rng.randrange(1, 13):02d}-"
                                 f"{rng.randrange(1, 29):02d}"])


def _filler_manuals(real: list[Chunk], sections: int, folder: Path, rng: random.Random) -> None:
    sentences = [s.strip() for c in real for s in _SENTENCE.split(c.text) if len(s) > 40]
    per_file = 500
    for part in range(0, sections, per_file):
        lines = [f"# Filler manual {part // per_file}"]
        for i in range(part, min(part + per_file, sections)):
            lines += [f"## Section {i}", " ".join(rng.sample(sentences, 4)), ""]
        name = f"filler_{folder.name}_manual_{part // per_file:03d}.md"
        (folder / name).write_text("\n".join(lines), encoding="utf-8")


def build(services: Services, corpus: list[Path], total: int, data_dir: Path) -> None:
    ingestor, index = services.ingestor, services.index
    if index.count() == 0:
        print("ingesting the corpus…", flush=True)
        ingestor.ingest(corpus)
    if index.count() >= total:
        return
    real = {source.name for source in discover_sources(corpus)[0]}
    records = [c for c in index.all_records() if c.file in real]
    real_logs = [c for c in records if c.doc_type == DocType.LOG]
    real_manual = [c for c in records if c.doc_type == DocType.MANUAL]
    rng = random.Random(7)
    while (have := index.count()) < total:
        # Each round writes new files; a section can make one chunk more or less than planned.
        folder = data_dir / "filler" / f"round-{len(list((data_dir / 'filler').glob('round-*')))}"
        folder.mkdir(parents=True)
        missing = total - have + 50
        manual_sections = missing // 8  # the rest are work orders, as in a real plant
        _filler_manuals(real_manual, manual_sections, folder, rng)
        _filler_work_orders(real_logs, missing - manual_sections, folder, rng)
        print(f"ingesting ~{missing} filler chunks…", flush=True)
        started = time.perf_counter()
        ingestor.ingest([folder])
        print(f"  {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, nargs="+", required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    services = Services(Settings(data_dir=args.data_dir))
    build(services, args.corpus, args.total, args.data_dir)
    services.ingestor.sync_lexical()
    services.retriever.warm_up()  # as `plantops ui` does at start
    questions = load_questions(args.questions)
    index = services.index
    print(f"\nindex: {index.count()} chunks "
          f"({index.count(DocType.MANUAL)} manual, {index.count(DocType.LOG)} work orders)")
    print("\nlatency per stage (2 cores):")
    stage_latency(services, questions, args.repeat)


if __name__ == "__main__":
    main()
