"""What the records store costs: an audit write, a session check, and a whole question (retrieval,
the retrieval-only answer, its audit row and the incident save) on the embedded SQLite file vs
a PostgreSQL server on loopback. Prints medians, p95s and the PostgreSQL / SQLite ratios.

    .venv/bin/python -m benchmarks.records [--questions 60] [--writes 500]
        [--postgres-url URL --password-file FILE]   # default: a server started here
        [--data-dir DIR]                            # an index to ask (default: the samples)

Without --postgres-url it starts PostgreSQL from Debian's package (as the tests do; root).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.ops.offline import enforce_offline
from app.records.audit import AuditEntry
from app.records.sessions import SharedSessions
from app.services import Services
from app.settings import DatabaseSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["What does ALARM:2 mean?", "Homing fail: what should I check?",
             "How do I lock out the press before clearing a jam?",
             "error 9 on the grbl controller", "soft limit alarm after homing"]


def timed(action: Callable[[int], object], n: int) -> list[float]:
    runs = []
    for i in range(n):
        started = time.perf_counter()
        action(i)
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def figures(runs: list[float]) -> dict[str, float]:
    ordered = sorted(runs)
    return {"median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3)}


def measure(services: Services, questions: int, writes: int) -> dict[str, dict[str, float]]:
    audit, incidents = services.audit, services.incidents
    entry = AuditEntry("op", "operator", "ask", "q", ["a.pdf, page 1"], ["a.pdf, page 1"],
                       "answer text " * 40, "complete")
    sessions = SharedSessions(services.database, idle_s=3600)
    sessions["bench-token"] = "op"
    out = {"audit write": figures(timed(lambda i: audit.record(entry), writes)),
           "session check": figures(timed(lambda i: sessions.still_active("bench-token"),
                                          writes))}

    def question(i: int) -> None:
        text = QUESTIONS[i % len(QUESTIONS)]
        final = list(services.assistant.answer(text))[-1]
        row = audit.record(AuditEntry("op", "operator", "ask", text, status=str(final.status)))
        incidents.save("op", None, text, {"messages": [text, final.text, row]})

    question(0)  # warm: models loaded, caches filled
    out["question, end to end"] = figures(timed(question, questions))
    return out


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--postgres-url")
    parser.add_argument("--password-file", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plantops-records-bench-"))
    work.chmod(0o755)  # the postgres account must reach its folder inside
    server = None
    try:
        data = args.data_dir or work / "data"
        if args.data_dir is None:
            Services(Settings(data_dir=data)).ingestor.ingest([ROOT / "samples/documents"])
        dead = '["http://127.0.0.1:9/v1"]'  # no model: the retrieval-only answer, every time
        if args.postgres_url is None:
            from tests.postgres import start_postgres

            server = start_postgres(work / "postgres")
            postgres = next(server)
            url, password = postgres.create_database("bench"), postgres.password_file
        else:
            url, password = args.postgres_url, args.password_file
        results = {}
        for name, database in (("sqlite", DatabaseSettings()),
                               ("postgresql", DatabaseSettings(url=url, password_file=password))):
            (data / "records.sqlite3").unlink(missing_ok=True)
            settings = Settings.model_validate({"data_dir": data, "database": database,
                                                "serving": {"base_urls": json.loads(dead)}})
            results[name] = measure(Services(settings), args.questions, args.writes)
        for what in results["sqlite"]:
            lite, pg = results["sqlite"][what], results["postgresql"][what]
            print(f"{what:<22} SQLite median {lite['median_ms']:8.2f} ms  p95 "
                  f"{lite['p95_ms']:8.2f} ms | PostgreSQL median {pg['median_ms']:8.2f} ms  "
                  f"p95 {pg['p95_ms']:8.2f} ms | ratio {pg['median_ms'] / lite['median_ms']:.2f}x")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
