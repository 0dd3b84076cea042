"""Scanned manuals: image-only pages are read with the packaged OCR and marked as such."""

from pathlib import Path

from app.answer.answering import source_label
from ingest.ocr import PageOcr
from ingest.pipeline import Outcome
from ingest.settings import IngestSettings, OcrSettings
from ingest.sources import read_units
from tests import factories
from tests.conftest import make_services, make_settings


def scan_beside_text_pdf(tmp_path: Path) -> Path:
    """A folder with a scanned manual (pump_scan.pdf) and a text one (pump_manual.pdf)."""
    docs = tmp_path / "usb"
    docs.mkdir()
    factories.image_only_pdf(docs / "pump_scan.pdf", tmp_path)
    factories.text_pdf(docs / "pump_manual.pdf", ["Seal replacement for P-101A."])
    return docs


def test_a_scanned_page_is_read_tagged_and_marked_as_ocr(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "usb"
    docs.mkdir()
    factories.image_only_pdf(docs / "pump_scan.pdf", tmp_path)
    services = make_services(make_settings(tmp_path / "data"), embedder)

    report = services.ingestor.ingest([docs])

    assert report.exit_code == 0, report.results
    [hit] = services.retriever.retrieve("P-101A seal replacement", k=1)
    assert hit.chunk.ocr and hit.chunk.page == 1
    assert "P-101A seal replacement" in hit.chunk.text
    assert "p101a" in hit.chunk.equipment_tags  # same tag extraction as for text pages
    assert source_label(hit.chunk) == "pump_scan.pdf, page 1 (OCR text)"


def test_a_blank_scan_is_reported_not_guessed(tmp_path: Path) -> None:
    blank = factories.image_only_pdf(tmp_path / "blank.pdf", tmp_path, lines=())
    problems: list[str] = []
    assert list(read_units(blank, problems, PageOcr(OcrSettings()))) == []
    assert problems == ["page 1: scanned, but OCR found no text"]


def test_new_ocr_settings_read_scans_again_and_leave_text_pdfs_alone(  # type: ignore[no-untyped-def]
        tmp_path: Path, embedder) -> None:
    docs = scan_beside_text_pdf(tmp_path)
    data = tmp_path / "data"
    first = make_services(make_settings(data), embedder).ingestor.ingest([docs])
    assert {r.outcome for r in first.results} == {Outcome.INDEXED}
    again = make_services(make_settings(data), embedder).ingestor.ingest([docs])
    assert {r.outcome for r in again.results} == {Outcome.UNCHANGED}
    changed = make_settings(data, ingest=IngestSettings(ocr=OcrSettings(render_scale=2.5)))
    report = make_services(changed, embedder).ingestor.ingest([docs])
    assert {r.file: r.outcome for r in report.results} == {
        "pump_scan.pdf": Outcome.INDEXED, "pump_manual.pdf": Outcome.UNCHANGED}


def test_a_two_column_scan_is_read_column_by_column(tmp_path: Path) -> None:
    pdf = factories.two_column_scan(tmp_path / "glossary.pdf", tmp_path)
    text = " ".join(PageOcr(OcrSettings()).read_page(pdf, 0).split()).lower()
    # each column's sentence reads on, not interleaved with the line beside it
    assert "closes a circuit when it is exposed to a specified high temperature" in text
    assert "to produce rotation about an axis of the shaft" in text
    assert text.index("an electrical switch") < text.index("a force that produces")
    # read as one block of text (page_layout 6), the columns' lines interleave
    block = " ".join(PageOcr(OcrSettings(page_layout=6)).read_page(pdf, 0).split()).lower()
    assert "closes a circuit when it is exposed to a specified" not in block


def test_a_missing_ocr_language_fails_that_file_by_name_and_the_rest_is_indexed(  # type: ignore[no-untyped-def]
        tmp_path: Path, embedder) -> None:
    docs = scan_beside_text_pdf(tmp_path)
    settings = make_settings(tmp_path / "data", ingest=IngestSettings(
        ocr=OcrSettings(language="eng+deu")))

    report = make_services(settings, embedder).ingestor.ingest([docs])

    outcomes = {r.file: r for r in report.results}
    assert outcomes["pump_manual.pdf"].outcome == Outcome.INDEXED
    failed = outcomes["pump_scan.pdf"]
    assert failed.outcome == Outcome.FAILED
    assert "no OCR model for language deu" in failed.reason
    assert "traineddata" in failed.reason  # what to do next
    assert report.exit_code == 3
