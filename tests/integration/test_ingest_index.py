"""Ingest into a real on-disk Chroma with the real embedding model."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.errors import EmbeddingModelMismatchError
from ingest.index import ChunkIndex
from ingest.pipeline import Outcome
from ingest.settings import ChunkingSettings, IndexSettings, IngestSettings, OcrSettings
from tests import factories
from tests.conftest import ROOT, SAMPLES, make_services, make_settings


@pytest.fixture
def services(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    return make_services(make_settings(tmp_path / "data"), embedder)


def consistent(services) -> int:  # type: ignore[no-untyped-def]
    """The index holds exactly the chunks the manifest says, nothing pending."""
    entries = services.manifest.entries()
    assert all(e.status == "done" for e in entries)
    total = services.index.count()
    assert total == sum(e.chunks for e in entries)
    return total


def test_bad_files_are_reported_by_name_and_the_rest_is_indexed(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "usb"
    docs.mkdir()
    good = factories.text_pdf(docs / "pump_manual.pdf", ["Seal replacement for P-101A."] * 2)
    (docs / "notes.md").write_text("# Pumps\nPrime before start.\n")
    (docs / "wo.csv").write_text("work_order_id,description\nWO-1,REPL SEAL P101A\n"
                                 "WO-2,BROKEN,ROW\n")
    factories.encrypted_pdf(docs / "locked.pdf", good, user_password="pw")
    whole = factories.text_pdf(tmp_path / "x.pdf", ["x" * 3000] * 4)
    factories.truncated(docs / "broken.pdf", whole)
    (docs / "empty.pdf").write_bytes(b"")
    factories.image_only_pdf(docs / "scan.pdf", tmp_path)
    (docs / "huge.md").write_text("y" * 1_200_000)
    settings = make_settings(tmp_path / "data", ingest=IngestSettings(
        chunking=ChunkingSettings(max_file_size_mb=1.0), ocr=OcrSettings(enabled=False)))
    services = make_services(settings, embedder)

    report = services.ingestor.ingest([docs])

    outcome = {r.file: r for r in report.results}
    assert {f for f, r in outcome.items() if r.outcome is Outcome.INDEXED} == {
        "pump_manual.pdf", "notes.md", "wo.csv"}
    assert outcome["wo.csv"].reason == "1 part(s) skipped: row 3: malformed, skipped"
    assert "encrypted" in outcome["locked.pdf"].reason
    assert "not a readable PDF" in outcome["broken.pdf"].reason
    assert "empty" in outcome["empty.pdf"].reason
    assert "no text found" in outcome["scan.pdf"].reason
    assert "OCR is off" in outcome["scan.pdf"].reason
    assert "over the limit" in outcome["huge.md"].reason
    assert report.exit_code == 3
    assert consistent(services) == 4


def test_rerun_adds_nothing_and_changed_file_replaces_its_chunks(
        tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    manual = factories.text_pdf(docs / "press.pdf", ["Old brake check: weekly."] * 3)
    factories.text_pdf(docs / "other.pdf", ["Guarding for rollers."])
    services.ingestor.ingest([docs])
    before = consistent(services)

    again = services.ingestor.ingest([docs])
    assert {r.outcome for r in again.results} == {Outcome.UNCHANGED}
    assert consistent(services) == before

    factories.text_pdf(manual, ["New brake check: every shift."])
    services.ingestor.ingest([docs])
    texts = [c.text for c in services.index.all_records() if c.file == "press.pdf"]
    assert texts == ["New brake check: every shift."]
    assert consistent(services) == before - 2


def test_remove_and_prune(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        factories.text_pdf(docs / name, [f"content of {name}"])
    services.ingestor.ingest([docs])
    assert services.ingestor.remove("a.pdf")
    assert not services.ingestor.remove("a.pdf")
    (docs / "b.pdf").unlink()
    report = services.ingestor.ingest([docs], prune=True)
    assert ("b.pdf", Outcome.REMOVED) in [(r.file, r.outcome) for r in report.results]
    # a.pdf is still in the folder, so ingesting the folder brings it back; b.pdf is gone
    assert {c.file for c in services.index.all_records()} == {"a.pdf", "c.pdf"}
    assert consistent(services) == 2


def test_another_embedding_model_is_refused(services) -> None:  # type: ignore[no-untyped-def]
    services.ingestor.ingest([SAMPLES / "grbl_alarm_and_error_codes.pdf"])
    with pytest.raises(EmbeddingModelMismatchError, match="rebuild"):
        ChunkIndex(IndexSettings(), services.settings.data_dir, "other-model@123")


def test_an_index_made_with_chromas_search_default_is_opened_with_the_configured_one(
        services) -> None:  # type: ignore[no-untyped-def]
    """At Chroma's ef_search of 100 the nearest manual chunk was missed in some processes:
    an index made before (or with another value) is switched to the setting when opened."""
    services.ingestor.ingest([SAMPLES / "grbl_alarm_and_error_codes.pdf"])
    model = services.index.model_id
    ChunkIndex(IndexSettings(search_ef=100), services.settings.data_dir, model)
    index = ChunkIndex(IndexSettings(), services.settings.data_dir, model)
    for collection in index._collections.values():
        assert collection.configuration["hnsw"]["ef_search"] == IndexSettings().search_ef == 400


def status_counts(manifest: Path) -> dict[str, int]:
    """Status counts of a manifest another process is writing; empty until its schema exists."""
    if not manifest.exists():
        return {}
    try:
        with sqlite3.connect(manifest) as db:
            return dict(db.execute("SELECT status, count(*) FROM sources GROUP BY status"))
    except sqlite3.OperationalError:  # created but schema not yet committed, or locked
        return {}


def test_sigkill_mid_ingest_then_rerun_ends_exactly_right(
        tmp_path: Path, shared_corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    manuals = tmp_path / "manuals"  # three real manuals; the middle one takes seconds to embed
    manuals.mkdir()
    for name in ("grbl_alarm_and_error_codes.pdf", "grbl_interface_protocol.pdf",
                 "klipper_bed_level.pdf"):
        (manuals / name).write_bytes((shared_corpus / "manuals" / name).read_bytes())
    env = {**os.environ, "PLANTOPS_DATA_DIR": str(data)}
    cmd = [sys.executable, "-m", "app.commands.cli", "ingest", str(manuals)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    manifest = data / "manifest.sqlite3"
    deadline = time.monotonic() + 120
    killed_mid_file = False
    while time.monotonic() < deadline and proc.poll() is None:
        counts = status_counts(manifest)
        if counts.get("done", 0) >= 1 and counts.get("pending", 0) == 1:
            proc.send_signal(signal.SIGKILL)
            killed_mid_file = True
            break
        time.sleep(0.05)
    proc.wait()
    assert killed_mid_file, "ingest finished before it could be killed mid-file"

    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr

    fresh = make_services(make_settings(tmp_path / "fresh"), embedder)
    fresh.ingestor.ingest([manuals])
    resumed = make_services(make_settings(data), embedder)
    assert consistent(resumed) == consistent(fresh)
    assert ({c.id for c in resumed.index.all_records()}
            == {c.id for c in fresh.index.all_records()})


def test_a_changed_file_switches_versions_at_once(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    """Between writing a new version's chunks and deleting the old ones, queries see
    exactly one version: the old one until the manifest switches, then the new one."""
    from ingest.chunking import make_splitter, split_into_chunks
    from ingest.contract import DocType
    from ingest.pipeline import file_sha256
    from ingest.sources import read_units

    docs = tmp_path / "docs"
    docs.mkdir()
    manual = factories.text_pdf(docs / "press.pdf", ["Brake check on the press: weekly."])
    services.ingestor.ingest([docs])
    factories.text_pdf(manual, ["Brake check on the press: every shift."])
    sha = file_sha256(manual)
    new = list(split_into_chunks(read_units(manual), file="press.pdf", file_sha256=sha,
                                 doc_type=DocType.MANUAL, splitter=make_splitter(1000, 200)))
    # The first half of an ingest, stopped before the switch: both versions are in Chroma.
    recipe = services.ingestor.recipe_for("press.pdf")
    services.manifest.begin("press.pdf", sha, "manual", recipe)
    services.index.upsert(new, services.embedder.embed([c.indexed_text() for c in new]))

    def seen() -> list[str]:
        return [h.chunk.text for h in services.retriever.retrieve("press brake check", k=5)]

    assert seen() == ["Brake check on the press: weekly."]
    services.manifest.complete("press.pdf", sha, len(new), "manual", recipe)
    assert seen() == ["Brake check on the press: every shift."]

    # Killed right after the switch: the old version's chunks and original are still there,
    # invisible. The next run (even one with nothing to do) removes them.
    assert len(services.index.ids_for_file("press.pdf")) == 2
    report = services.ingestor.ingest([docs])
    assert [r.outcome for r in report.results] == ["unchanged"]
    assert services.index.ids_for_file("press.pdf") == [c.id for c in new]
    assert sorted(p.name for p in (services.settings.data_dir / "originals").iterdir()) == [sha]


def test_same_text_in_two_versions_stays_visible_during_the_switch(
        tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    """A page that did not change between versions is never missing from results."""
    docs = tmp_path / "docs"
    docs.mkdir()
    manual = factories.text_pdf(docs / "pump.pdf", ["Seal flush: 2 l/min.", "Old page two."])
    services.ingestor.ingest([docs])
    factories.text_pdf(manual, ["Seal flush: 2 l/min.", "New page two."])

    from ingest.chunking import make_splitter, split_into_chunks
    from ingest.contract import DocType
    from ingest.pipeline import file_sha256
    from ingest.sources import read_units

    sha = file_sha256(manual)
    new = list(split_into_chunks(read_units(manual), file="pump.pdf", file_sha256=sha,
                                 doc_type=DocType.MANUAL, splitter=make_splitter(1000, 200)))
    services.manifest.begin("pump.pdf", sha, "manual", services.ingestor.recipe_for("pump.pdf"))
    services.index.upsert(new, services.embedder.embed([c.indexed_text() for c in new]))
    texts = [h.chunk.text for h in services.retriever.retrieve("seal flush rate", k=5)]
    assert texts.count("Seal flush: 2 l/min.") == 1 and "Old page two." in texts


def test_no_chunk_is_longer_than_the_embedding_model_reads(
        tmp_path: Path, services, embedder) -> None:  # type: ignore[no-untyped-def]
    """Chunks are sized in the model's tokens: text past its window would be cut off
    unseen. Dense text (part numbers, tables) has many more tokens per character than prose."""
    docs = tmp_path / "docs"
    docs.mkdir()
    table = "\n".join(f"P-{100 + i}A/B-{i * 7:04d} 3x{i}.5mm {i * 13 % 97}Nm ±0.{i % 9}"
                      for i in range(120))
    factories.text_pdf(docs / "parts.pdf", [table], titles=["Spare parts and torques"])
    embedder.embed(["warm up: a call that truncates " * 200])
    services.ingestor.ingest([docs])
    chunks = services.index.all_records()
    assert len(chunks) > 3
    assert max(embedder.count_tokens(c.indexed_text()) for c in chunks) <= embedder.max_tokens


def test_a_new_chunk_size_recuts_unchanged_files_and_leaves_no_old_pieces(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """An upgrade that cuts text differently must reach files whose bytes did not change;
    going back to bigger chunks must not leave the small ones behind (same version)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "pump.pdf", [" ".join(
        f"Step {i}: check the seal flush of pump P-101A, log the flow." for i in range(40))])

    def ingest(size: int) -> tuple[str, list[str], set[str]]:
        settings = make_settings(tmp_path / "data", ingest=IngestSettings(
            chunking=ChunkingSettings(chunk_size_tokens=size, chunk_overlap_tokens=10)))
        services = make_services(settings, embedder)
        [result] = services.ingestor.ingest([docs]).results
        bm25 = {i for i, _ in services.lexical.search("pump seal flush", 1000)}
        return result.outcome, sorted(services.index.ids_for_file("pump.pdf")), bm25

    outcome, big, _ = ingest(200)
    assert outcome == Outcome.INDEXED
    outcome, small, bm25 = ingest(60)
    assert outcome == Outcome.INDEXED  # same bytes, another recipe: cut again
    assert len(small) > len(big) and bm25 == set(small)
    assert ingest(60)[0] == Outcome.UNCHANGED
    outcome, again, bm25 = ingest(200)
    assert outcome == Outcome.INDEXED
    assert again == big and bm25 == set(big)  # none of the small pieces is left


def test_a_manifest_from_before_recipes_opens_and_recuts(tmp_path: Path) -> None:
    from ingest.manifest import Manifest, Status

    path = tmp_path / "manifest.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE sources (file TEXT PRIMARY KEY, sha256 TEXT NOT NULL, status TEXT "
                "NOT NULL, chunks INTEGER NOT NULL, doc_type TEXT NOT NULL, ingested_at REAL "
                "NOT NULL)")
    old.execute("INSERT INTO sources VALUES ('a.pdf', 'abc', 'done', 3, 'manual', 0)")
    old.commit()
    old.close()

    manifest = Manifest(path)
    entry = manifest.get("a.pdf")
    assert entry is not None and entry.status is Status.DONE and entry.recipe == ""
    manifest.complete("a.pdf", "abc", 4, "manual", "3:200:40:")
    assert manifest.get("a.pdf").recipe == "3:200:40:"  # type: ignore[union-attr]


def test_progress_names_each_file_while_it_is_read_before_its_chunks(
        tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    """Before: nothing was said while a file was parsed (a long PDF: seconds at a bare 0%)."""
    from app.ui.documents import _GradioProgress

    docs = tmp_path / "usb"
    docs.mkdir()
    factories.text_pdf(docs / "pump_manual.pdf", ["Seal replacement for P-101A."] * 3)
    (docs / "notes.md").write_text("# Pumps\nPrime before start.\n")
    shown: list[tuple[float, str]] = []
    page = _GradioProgress(lambda share, desc: shown.append((share, desc)), files=2)
    services.ingestor.ingest([docs], observer=page)
    said = [desc.split(" ")[0] for _, desc in shown]
    assert said[0] == "reading" and "notes.md" in shown[0][1]  # the smaller file first
    reading_pdf = said.index("reading", 1)
    assert "pump_manual.pdf (file 2 of 2)" in shown[reading_pdf][1]
    assert shown[reading_pdf][0] == 0.5  # one of two files done
    shares = [share for share, _ in shown]
    assert shares == sorted(shares) and shares[-1] == 1.0  # it only moves forward
