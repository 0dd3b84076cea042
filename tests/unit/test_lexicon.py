"""Maintenance shorthand reads as words, for search only: the text itself never changes."""

from pathlib import Path

import pytest

from ingest.contract import Chunk, DocType
from ingest.lexical import LexicalIndex
from ingest.lexicon import PLANT_FILE, Lexicon


def test_shorthand_is_expanded_and_kept() -> None:
    text = Lexicon.load().expand("C/O L/H hyd cyl")
    assert text.startswith("C/O L/H hyd cyl\n")
    assert all(w in text for w in ("change out", "left hand", "hydraulic", "cylinder"))


def test_words_that_only_look_like_shorthand_are_left_alone() -> None:
    lexicon = Lexicon.load()
    assert lexicon.expand("Set the press brake") == "Set the press brake"  # press != pressure
    assert "air conditioner" not in lexicon.expand("the reactor/c loop")  # not a standalone a/c


def test_the_plant_file_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / PLANT_FILE).write_text("# ours\nqr\tquarry truck\nrepl\treplaced\n")
    lexicon = Lexicon.load(tmp_path / PLANT_FILE)
    assert lexicon.expand("repl seat on the QR") == "repl seat on the QR\nreplaced quarry truck"
    assert lexicon.digest != Lexicon.load().digest
    (tmp_path / "bad.tsv").write_text("only-one-column\n")
    with pytest.raises(ValueError, match="bad.tsv line 1"):
        Lexicon.load(tmp_path / "bad.tsv")


def test_a_question_in_words_finds_the_work_order_in_shorthand(tmp_path: Path) -> None:
    records = [Chunk(text=text, file="wo.csv", file_sha256="s", doc_type=DocType.LOG,
                     chunk_index=i, record_id=f"wo-{i}")
               for i, text in enumerate(["CR871 A/C u/s", "CR871 repl tyre", "PH639 hyd leak"])]
    plain, expanded = LexicalIndex(tmp_path / "a"), LexicalIndex(tmp_path / "b", Lexicon.load())
    for index in (plain, expanded):
        index.rebuild(records, "fp")
    question = "air conditioner unserviceable on CR871"
    assert [i for i, _ in expanded.search(question, 1)] == [records[0].id]
    assert expanded.coverage(question, records[0].indexed_text()) > \
        plain.coverage(question, records[0].indexed_text())
    assert expanded.is_current("fp")
    assert not LexicalIndex(tmp_path / "b").is_current("fp")  # another lexicon: rebuilt
