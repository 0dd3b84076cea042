"""The eval harness on a tiny hand-made corpus whose answers are known."""

import json
from pathlib import Path

from app.evaluation import evaluate, load_judgements, load_questions
from tests import factories
from tests.conftest import make_services, make_settings

FILLER = "General notes about the plant and its maintenance schedule. " * 6


def test_scores_on_known_answers(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "press.pdf", [
        FILLER, "Clutch and brake inspection on mechanical power presses: weekly.", FILLER])
    factories.text_pdf(docs / "grbl.pdf", ["ALARM:9 Homing fail. Check wiring.", FILLER])
    (docs / "wo.csv").write_text("work_order_id,description\nwo-1,PH639 RECTIFY STEERING FAULT\n"
                                 "wo-2,CR871 REPLACE DAMAGED TYRE\n")
    services = make_services(make_settings(tmp_path / "data"), embedder)
    assert services.ingestor.ingest([docs]).exit_code == 0

    questions = [
        {"id": "q1", "question": "how often inspect clutch and brake on a power press",
         "answerable": True, "sources": [{"file": "press.pdf", "page": 2}], "kind": "safety"},
        {"id": "q2", "question": "homing fails with alarm 9", "answerable": True,
         "sources": [{"file": "grbl.pdf", "page": 1}], "kind": "fault_code"},
        {"id": "q3", "question": "what was wrong with ph639", "answerable": True,
         "sources": [{"file": "wo.csv", "record": "wo-1"}], "kind": "log_lookup"},
        # gold deliberately points at a page that holds only filler: a known miss
        {"id": "q4", "question": "clutch brake inspection interval", "answerable": True,
         "sources": [{"file": "press.pdf", "page": 3}], "kind": "safety"},
        {"id": "q5", "question": "boiler bottom blowdown frequency per shift",
         "answerable": False, "sources": [], "kind": "unanswerable"},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(q) for q in questions))

    report = evaluate(load_questions(qfile), services.retriever, k=1)

    assert report.n == 5
    assert report.recall_at_1 == 0.75
    assert report.by_kind == {"fault_code": 1.0, "log_lookup": 1.0, "safety": 0.5}
    assert report.misses == ["q4"]
    assert report.metrics["unanswerable_declined"] == 1.0
    assert report.metrics["answerable_refused"] == 0.0
    low, high = report.intervals["recall@1"]
    assert low <= 0.75 <= high
    assert 0.75 <= report.mrr_at_10 < 1.0  # q4's gold page is somewhere below rank 1, or absent

    # a log question whose shown work order is not its gold one: correct by the answer-string
    # rule, wrong by a reader's judgement when one is given
    extra = tmp_path / "log.jsonl"
    extra.write_text(json.dumps({"id": "q6", "question": "cr871 tyre", "answerable": True,
                                 "sources": [{"file": "wo.csv", "record": "wo-1"}],
                                 "kind": "log_lookup", "answer_contains": ["tyre"]}))
    by_rule = evaluate(load_questions(extra), services.retriever, k=1)
    assert by_rule.metrics["log_record_precision"] == 1.0  # "CR871 REPLACE DAMAGED TYRE"
    judged = tmp_path / "judged.json"
    judged.write_text(json.dumps({"questions": {"q6": {"correct": [], "read": ["wo-2"]}}}))
    by_reading = evaluate(load_questions(extra, load_judgements(judged)), services.retriever,
                          k=1)
    assert by_reading.metrics["log_record_precision"] == 0.0
