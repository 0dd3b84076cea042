"""No document lost or altered on its way in: names, links, encodings, oversized input.

Real files, the real embedding model and an on-disk Chroma; each test fails on the code
before the hardening (noted per test).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pypdf import PdfWriter

from ingest.pipeline import Outcome
from ingest.settings import ChunkingSettings, IngestSettings
from tests import factories
from tests.conftest import make_services, make_settings


@pytest.fixture
def services(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    return make_services(make_settings(tmp_path / "data"), embedder)


def indexed_text(services, name: str) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(c.text for c in services.index.all_records() if c.file == name)


def outcomes(report) -> dict[str, tuple[Outcome, str]]:  # type: ignore[no-untyped-def]
    return {r.file: (r.outcome, r.reason) for r in report.results}


def test_two_files_with_one_name_in_two_folders_are_both_kept(tmp_path: Path,
                                                               services) -> None:  # type: ignore[no-untyped-def]
    # Before: both reported "indexed", one silently replaced the other in Chroma.
    usb = tmp_path / "usb"
    (usb / "line1").mkdir(parents=True)
    (usb / "line2").mkdir()
    (usb / "line1" / "notes.md").write_text("# Press 1\nTorque the die bolts to 95 Nm.\n")
    (usb / "line2" / "notes.md").write_text("# Press 2\nLubricate the ram guides weekly.\n")

    report = services.ingestor.ingest([usb])

    assert outcomes(report) == {"line1/notes.md": (Outcome.INDEXED, ""),
                                "line2/notes.md": (Outcome.INDEXED, "")}
    assert "95 Nm" in indexed_text(services, "line1/notes.md")
    assert "ram guides" in indexed_text(services, "line2/notes.md")
    again = services.ingestor.ingest([usb])
    assert {o for o, _ in outcomes(again).values()} == {Outcome.UNCHANGED}


def test_a_true_collision_is_refused_by_name_not_merged(tmp_path: Path,
                                                        services) -> None:  # type: ignore[no-untyped-def]
    first, second = tmp_path / "a" / "pump.md", tmp_path / "b" / "pump.md"
    for path, text in ((first, "Seal kit A"), (second, "Seal kit B")):
        path.parent.mkdir()
        path.write_text(f"# Pump\n{text}\n")

    report = services.ingestor.ingest([first, second])

    assert [r.outcome for r in report.results] == [Outcome.FAILED, Outcome.INDEXED]
    assert "same name" in report.results[0].reason and str(second) in report.results[0].reason
    assert report.exit_code == 3
    assert "Seal kit A" in indexed_text(services, "pump.md")


def test_an_index_keyed_by_base_name_moves_to_the_folder_name(tmp_path: Path,
                                                              services) -> None:  # type: ignore[no-untyped-def]
    # An index made before documents were named by their folder path knew sub/notes.md as
    # notes.md: after the folder is ingested the document is there once, under its full name.
    sub = tmp_path / "usb" / "sub"
    sub.mkdir(parents=True)
    notes = sub / "notes.md"
    notes.write_text("# Boiler\nBlow down once per shift.\n")
    services.ingestor.ingest([notes])
    assert [e.file for e in services.manifest.entries()] == ["notes.md"]

    services.ingestor.ingest([tmp_path / "usb"])

    assert [e.file for e in services.manifest.entries()] == ["sub/notes.md"]
    assert {c.file for c in services.index.all_records()} == {"sub/notes.md"}


def test_unicode_names_are_kept(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    # Before: the UI turned both names into "_____.pdf", the second upload replaced the first.
    from app.ui.documents import accept_upload

    uploads = tmp_path / "uploads"
    for name, text in (("Насос.pdf", "Pump P-101 seal"), ("Мотор.pdf", "Motor M-7 bearing")):
        source = factories.text_pdf(tmp_path / f"incoming-{len(name)}-{text[:4]}.pdf", [text])
        accept_upload(source, name, uploads, max_mb=10)
    report = services.ingestor.ingest(sorted(uploads.iterdir()))
    assert outcomes(report).keys() == {"Насос.pdf", "Мотор.pdf"}
    assert "P-101" in indexed_text(services, "Насос.pdf")
    assert "M-7" in indexed_text(services, "Мотор.pdf")


def test_links_out_of_the_folder_are_refused(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    # Before: passwd.md -> /etc/passwd was indexed, kept in originals/ and downloadable.
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("# Secret\nroot:x:0:0\n")
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "manual.md").write_text("# Manual\nCheck the oil.\n")
    os.symlink(secret, usb / "passwd.md")
    os.symlink(usb / "manual.md", usb / "alias.md")  # a link inside the folder is fine

    report = services.ingestor.ingest([usb])

    result = outcomes(report)
    assert result["passwd.md"][0] is Outcome.FAILED and "outside" in result["passwd.md"][1]
    assert result["manual.md"][0] is Outcome.INDEXED and result["alias.md"][0] is Outcome.INDEXED
    assert "root:x" not in "".join(c.text for c in services.index.all_records())
    kept = [p.read_bytes() for p in (services.settings.data_dir / "originals").iterdir()]
    assert secret.read_bytes() not in kept


@pytest.mark.parametrize("text", ["Temperatur 80 °C", "Set the oven to 180 °C and wait."])
def test_short_windows_text_is_not_altered(tmp_path: Path, services, text: str) -> None:  # type: ignore[no-untyped-def]
    # Before: "80 ḞC" (iso8859-14) and "180 蚓" (big5).
    (tmp_path / "oven.md").write_bytes(f"# Oven\n{text}\n".encode("cp1252"))
    report = services.ingestor.ingest([tmp_path / "oven.md"])
    assert outcomes(report)["oven.md"] == (Outcome.INDEXED, "")
    assert text in indexed_text(services, "oven.md")


def test_a_guessed_encoding_is_reported_and_can_be_pinned(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    czech = "# Čerpadlo\nPřed otevřením uzavřít ventil, teplota pod 80 °C.\n"
    (tmp_path / "cerpadlo.md").write_bytes(czech.encode("cp1250"))
    guessed = make_services(make_settings(tmp_path / "d1"), embedder)
    report = guessed.ingestor.ingest([tmp_path / "cerpadlo.md"])
    outcome, reason = outcomes(report)["cerpadlo.md"]
    assert outcome is Outcome.INDEXED and "read as cp1250 (a guess" in reason
    assert "ingest.encodings" in reason

    pinned = make_services(make_settings(tmp_path / "d2", ingest=IngestSettings(
        encodings={"cerpadlo.*": "cp1250"})), embedder)
    report = pinned.ingestor.ingest([tmp_path / "cerpadlo.md"])
    assert outcomes(report)["cerpadlo.md"] == (Outcome.INDEXED, "")
    assert "Před otevřením" in indexed_text(pinned, "cerpadlo.md")


def test_oversized_text_and_chunk_counts_are_refused_with_a_reason(tmp_path: Path,
                                                                   embedder) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "long.md").write_text("# Log\n" + "pump seal check " * 5000)  # 80,000 chars
    (tmp_path / "line.txt").write_text("x" * 1_000_000)  # one line, no spaces
    (tmp_path / "ok.md").write_text("# Ok\nShort and fine.\n")
    services = make_services(make_settings(tmp_path / "data", ingest=IngestSettings(
        chunking=ChunkingSettings(max_text_chars=50_000, max_chunks_per_file=100))), embedder)

    result = outcomes(services.ingestor.ingest([tmp_path]))

    assert result["long.md"][0] is Outcome.FAILED and "max_text_chars" in result["long.md"][1]
    assert result["line.txt"][0] is Outcome.FAILED
    assert "max_text_chars" in result["line.txt"][1]
    assert result["ok.md"][0] is Outcome.INDEXED
    few = make_services(make_settings(tmp_path / "d2", ingest=IngestSettings(
        chunking=ChunkingSettings(max_chunks_per_file=3))), embedder)
    result = outcomes(few.ingestor.ingest([tmp_path / "long.md"]))
    assert result["long.md"][0] is Outcome.FAILED
    assert "max_chunks_per_file" in result["long.md"][1]
    assert few.index.count() == 0 and few.manifest.entries() == []


def test_one_huge_csv_cell_skips_that_row_only(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    # Before: "field larger than field limit" rejected the whole file.
    log = tmp_path / "wo.csv"
    log.write_text("work_order_id,description\nWO-1,REPL SEAL P101A\n"
                   f'WO-2,"{"y" * 200_000}"\nWO-3,C/O BEARING M7\n')
    report = services.ingestor.ingest([log])
    outcome, reason = outcomes(report)["wo.csv"]
    assert outcome is Outcome.INDEXED and "row 3: field larger than field limit" in reason
    assert {c.record_id for c in services.index.all_records()} == {"WO-1", "WO-3"}


def test_a_pdf_without_pages_says_so(tmp_path: Path, services) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.pdf"
    with empty.open("wb") as fh:
        PdfWriter().write(fh)
    outcome, reason = outcomes(services.ingestor.ingest([empty]))["empty.pdf"]
    assert outcome is Outcome.FAILED and "no pages" in reason and "scanned" not in reason
