import json
from pathlib import Path

import pytest

from app.evaluation import first_hit_rank, is_hit, load_questions
from ingest.contract import Chunk, DocType
from ingest.tags import all_codes, tags_in_query


def chunk(file: str, page: int | None = None, record: str | None = None) -> Chunk:
    return Chunk(text="t", file=file, file_sha256="s", doc_type=DocType.MANUAL, chunk_index=0,
                 page=page, record_id=record)


def test_hit_rules_follow_the_question_format() -> None:
    assert is_hit(chunk("a.pdf", 3), {"file": "a.pdf", "page": 3})
    assert not is_hit(chunk("a.pdf", 4), {"file": "a.pdf", "page": 3})
    assert not is_hit(chunk("b.pdf", 3), {"file": "a.pdf", "page": 3})
    assert is_hit(chunk("wo.csv", record="c-1"), {"file": "wo.csv", "record": "c-1"})
    assert not is_hit(chunk("wo.csv", record="c-2"), {"file": "wo.csv", "record": "c-1"})
    assert is_hit(chunk("faq.md"), {"file": "faq.md"})


def test_first_hit_rank_is_one_based_and_none_without_hit() -> None:
    ranked = [chunk("x.pdf", 1), chunk("a.pdf", 2), chunk("a.pdf", 3)]
    gold = [{"file": "a.pdf", "page": 3}, {"file": "a.pdf", "page": 2}]
    assert first_hit_rank(ranked, gold) == 2
    assert first_hit_rank(ranked, [{"file": "z.pdf"}]) is None


def test_bad_question_line_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"id": "q1", "question": "x", "answerable": True}) + "\n{oops\n")
    with pytest.raises(ValueError, match="q.jsonl line 2"):
        load_questions(f)


@pytest.mark.parametrize(("text", "codes"), [
    ("grbl keeps throwing ALARM:2", {"alarm:2"}),
    ("alarm 2 during homing", {"alarm:2"}),
    ("error:9 then Error #22", {"error:9", "error:22"}),
    ("Replace P-101A seal", {"p101a"}),
    ("P101A leaking", {"p101a"}),
    ("PH639 RECTIFY STEERING FAULT", {"ph639"}),
    ("operator hit the E-STOP", {"e-stop"}),
    ("75 kW motor per ISO 10816, M20 bolts", set()),
])
def test_tags_and_codes_normalise_variants(text: str, codes: set[str]) -> None:
    assert all_codes(text) == codes


def test_questions_match_tags_in_any_case() -> None:
    assert tags_in_query("what was done on ph639") == {"ph639"}
