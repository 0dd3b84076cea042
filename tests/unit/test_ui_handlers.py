"""The plain functions behind the tabs: uploads, filters, citations, follow-ups, previews."""

from pathlib import Path

import pytest

from app.answer.answering import cited_numbers, condense_question
from app.answer.evidence import Verdict
from app.answer.preview import PagePreviews, PreviewError
from app.ui.documents import accept_upload, safe_upload_name
from app.ui.search import FilterError, parse_filters, result_table, search_note
from ingest.contract import Chunk, DocType
from ingest.errors import SourceError
from ingest.originals import OriginalStore
from ingest.pipeline import file_sha256
from ingest.search import SearchFilters
from ingest.sources import read_units
from tests import factories


@pytest.mark.parametrize(("claimed", "safe"), [
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\windows\\y.pdf", "y.pdf"),
    ("/etc/passwd.md", "passwd.md"),
    (".hidden.pdf", "hidden.pdf"),
    ("pump <P-101A>.pdf", "pump <P-101A>.pdf"),  # only separators and controls are unsafe
    ("Насос.pdf", "Насос.pdf"),
    ("Мотор\x00\x1b.pdf", "Мотор.pdf"),
    ("Pru\u0308fung.md", "Pr\u00fcfung.md"),  # NFD from macOS -> NFC, one name
    ("泵" * 100 + ".pdf", "泵" * 65 + ".pdf"),  # cut to 200 bytes, the suffix kept
])
def test_upload_names_cannot_escape_or_hide(claimed: str, safe: str) -> None:
    assert safe_upload_name(claimed) == safe


def test_uploads_are_checked_for_type_and_size(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    source = tmp_path / "incoming"
    source.write_bytes(b"x" * 2_000_000)
    with pytest.raises(SourceError, match="unsupported file type '.exe'"):
        accept_upload(source, "tool.exe", folder, max_mb=10)
    with pytest.raises(SourceError, match="over the upload limit of 1 MB"):
        accept_upload(source, "big.pdf", folder, max_mb=1)
    landed = accept_upload(source, "../../manual.pdf", folder, max_mb=10)
    assert landed == folder / "manual.pdf" and landed.read_bytes() == source.read_bytes()
    assert not (tmp_path / "manual.pdf").exists()


def chunk(**kw) -> Chunk:  # type: ignore[no-untyped-def]
    base = dict(text="t", file="wo.csv", file_sha256="s", doc_type=DocType.LOG, chunk_index=0)
    return Chunk(**{**base, **kw})


def test_filters_select_type_file_tag_and_date_range() -> None:
    filters = parse_filters("log", "wo.csv", "p101a", "2026-01-01", "2026-01-31")
    assert filters == SearchFilters(DocType.LOG, "wo.csv", "p101a", "2026-01-01", "2026-01-31")
    tagged = chunk(equipment_tags=("p101a",), date="2026-01-15")
    assert filters.admits(tagged)
    assert not filters.admits(chunk(equipment_tags=("p101b",), date="2026-01-15"))
    assert not filters.admits(chunk(equipment_tags=("p101a",), date="2026-02-01"))
    assert not filters.admits(chunk(equipment_tags=("p101a",)))  # undated: outside any range
    where = filters.where()
    assert where is not None and {"date": {"$gte": 20260101}} in where["$and"]
    assert SearchFilters(tag="ALARM 2").codes == {"alarm:2"}  # same normalisation as ingest
    assert parse_filters("all", "all", "", "", "") == SearchFilters()
    with pytest.raises(FilterError, match="YYYY-MM-DD"):
        parse_filters("all", "all", "", "1/2/2026", "")
    # Before issue 30 these found "Nothing" without a word: a day that does not exist, and
    # a range backwards
    with pytest.raises(FilterError, match="'2026-02-30' is not a day of the calendar"):
        parse_filters("all", "all", "", "2026-02-30", "")
    with pytest.raises(FilterError, match="is after date to .* swap them"):
        parse_filters("all", "all", "", "2026-03-01", "2026-01-31")


def test_results_show_section_and_date_only_when_some_hit_has_one() -> None:
    manual = chunk(doc_type=DocType.MANUAL, file="m.pdf", page=3)
    order = chunk(date="2026-01-15", record_id="wo-1")
    only_manuals = result_table([manual], ["Check the switch."])
    assert only_manuals["headers"] == ["#", "file", "page / record", "matching sentence"]
    assert only_manuals["data"] == [[1, "m.pdf", "p. 3", "Check the switch."]]
    mixed = result_table([manual, order], ["a", "b"])
    assert "date" in mixed["headers"] and "section" not in mixed["headers"]


def test_search_says_when_matches_are_weak_or_absent() -> None:
    assert "best first" in search_note(Verdict.ANSWER, 20) and "Weak" not in search_note(
        Verdict.ANSWER, 20)
    assert "Weak matches" in search_note(Verdict.WEAK, 20)
    nothing = search_note(Verdict.NOT_FOUND, 20, ("alarm:14",))
    assert "No good match" in nothing and "ALARM:14" in nothing
    assert search_note(Verdict.ANSWER, 0).startswith("Nothing found")


def test_work_order_dates_are_read_in_common_spellings(tmp_path: Path) -> None:
    path = tmp_path / "wo.csv"
    path.write_text("wo_id,description,reported_date\n1,Seal leak on P-101A,2026-03-07\n"
                    "2,Belt squeal,07/03/2026\n3,Noise,not a date\n")
    problems: list[str] = []
    units = list(read_units(path, problems))
    assert [u.date for u in units] == ["2026-03-07", "2026-03-07", None]
    assert problems == ["row 4: unreadable date 'not a date', kept without a date"]
    dated = chunk(date="2026-03-07")
    assert Chunk.from_record(dated.id, dated.text, dated.to_metadata()).date == "2026-03-07"


def test_citations_and_follow_ups() -> None:
    assert cited_numbers("Check the switch [2] and wiring [1, 3]; see [2].") == [2, 1, 3]
    assert condense_question("and after reset?", []) == "and after reset?"
    assert condense_question("and after reset?", ["ALARM 9 on homing", "x axis stalls"]) \
        == "x axis stalls\nand after reset?"


def test_page_previews_render_the_kept_version(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "press.pdf", ["Page one", "Page two"])
    originals = OriginalStore(tmp_path / "originals")
    sha = file_sha256(pdf)
    previews = PagePreviews(originals, tmp_path / "previews")
    with pytest.raises(PreviewError, match="ingest the file again"):
        previews.page_image("press.pdf", sha, 1)
    originals.put(pdf, sha)
    pdf.unlink()  # the USB stick is gone; the kept copy is what is shown
    image = previews.page_image("press.pdf", sha, 2)
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(PreviewError, match="has no page 3"):
        previews.page_image("press.pdf", sha, 3)
