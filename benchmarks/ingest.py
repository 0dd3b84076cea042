"""Ingest throughput vs. raw embedding of the same chunks, and re-ingest speed.

    .venv/bin/python -m benchmarks.ingest PATH... [--data-dir DIR]

One run: (1) parse + chunk every file and embed the chunks with the model alone
(the floor: embedding is the limit on CPU); (2) ingest the same files into a
fresh index end to end; (3) ingest them again unchanged; (4) add one small work-order file,
as a confirmed work order does.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from app.ops.offline import enforce_offline
from app.services import Services
from app.settings import Settings
from ingest.chunking import make_splitter, split_into_chunks
from ingest.discovery import discover_sources
from ingest.pipeline import file_sha256
from ingest.sources import doc_type_for, read_units


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="plantops-bench-"))
    services = Services(Settings(data_dir=data_dir))
    settings = services.settings.ingest
    splitter = make_splitter(settings.chunking.chunk_size_tokens,
                             settings.chunking.chunk_overlap_tokens,
                             services.embedder.count_tokens)
    files = discover_sources(args.paths)[0]
    chunks = []
    for source in files:
        path = source.path
        try:
            chunks += split_into_chunks(read_units(path), file=source.name,
                                        file_sha256=file_sha256(path),
                                        doc_type=doc_type_for(path), splitter=splitter)
        except Exception as exc:  # the benchmark measures what ingest would index
            print(f"  skipped {path.name}: {exc}")
    embedder = services.embedder
    embedder.embed(["warm up"])
    started = time.perf_counter()
    step = embedder.batch_size
    for i in range(0, len(chunks), step):
        embedder.embed([c.indexed_text() for c in chunks[i:i + step]])
    raw = len(chunks) / (time.perf_counter() - started)

    started = time.perf_counter()
    report = services.ingestor.ingest(args.paths)
    first_s = time.perf_counter() - started
    indexed = sum(r.chunks for r in report.results)
    started = time.perf_counter()
    services.ingestor.ingest(args.paths)
    again_s = time.perf_counter() - started
    # (4) a confirmed work order: one new file of a row or two into the whole index, in the
    # process that wrote it (the UI's), as the Work orders tab's Confirm does
    order, one = data_dir / "confirmed-work-orders.csv", []
    for i in range(3):
        order.write_text("work_order_id,description\n" + "".join(
            f"BENCH-{j},PH639 replace pump seal {j}\n" for j in range(i + 1)), encoding="utf-8")
        started = time.perf_counter()
        services.ingestor.ingest([order])
        one.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"files {len(files)}, chunks {indexed} (batch size {step}, {embedder.model_id})")
    print(f"raw embedding           {raw:8.1f} chunks/s")
    print(f"end-to-end ingest       {indexed / first_s:8.1f} chunks/s  ({first_s:.1f} s)")
    print(f"ratio ingest/raw        {indexed / first_s / raw:8.3f}   (target >= 0.8)")
    print(f"re-ingest unchanged     {again_s:8.2f} s  -> {first_s / again_s:.0f}x faster "
          "(target >= 50x)")
    print(f"one new work order      {sorted(one)[1]:8.2f} s  (median of 3; index of {indexed} "
          "chunks)")
    print(f"peak RSS of this process {peak_mb:7.0f} MB (includes the raw-embedding pass)")


if __name__ == "__main__":
    main()
