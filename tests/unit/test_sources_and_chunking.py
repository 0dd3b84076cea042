from pathlib import Path

import pytest

from ingest.chunking import make_splitter, split_into_chunks
from ingest.contract import Chunk, DocType, MetaKey, chunk_id
from ingest.errors import SourceError
from ingest.sources import read_units
from tests import factories

LONG = ("Check the limit switch wiring and the max travel setting. " * 40).strip()


def chunks_of(path: Path, size: int = 300) -> list[Chunk]:
    return list(split_into_chunks(read_units(path), file=path.name, file_sha256="x",
                                  doc_type=DocType.MANUAL, splitter=make_splitter(size, 50)))


def test_pdf_chunks_never_span_pages_and_carry_1_based_page(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "m.pdf", [LONG, "ALARM:9 homing fail", LONG])
    chunks = chunks_of(pdf)
    assert {c.page for c in chunks} == {1, 2, 3}
    page2 = [c for c in chunks if c.page == 2]
    assert len(page2) == 1 and "ALARM:9" in page2[0].text
    assert all(len(c.text) <= 300 for c in chunks)
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


def test_pdf_outline_gives_sections(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "m.pdf", ["intro", "alarms", "more alarms", "notes"],
                             titles=["Introduction", "Alarm codes", "Alarm codes 2", "Notes"])
    assert [c.section for c in chunks_of(pdf)] == ["Introduction", "Alarm codes",
                                                   "Alarm codes 2", "Notes"]
    pdf = factories.text_pdf(tmp_path / "n.pdf", ["intro", "still the intro"])
    assert [c.section for c in chunks_of(pdf)] == [None, None]


def test_each_chunk_gets_the_section_it_is_in(tmp_path: Path) -> None:
    """A glossary with an outline entry per term: the section is the term a chunk is
    about, cut to the term, not the page's first entry with its whole definition."""
    cowling = ("Cowling. The removable cover that encloses an aircraft engine and its "
               "accessories, fastened with quick-release fasteners. ")
    creep = ("Creep. The deformation of a metal part that is continually exposed to high "
             "centrifugal loads and temperatures. ")
    pdf = factories.glossary_pdf(tmp_path / "glossary.pdf", [
        [(cowling.strip(), cowling * 2), (creep.strip(), creep * 3)],
        [("Scuffing", "Scuffing. Severe damage to moving parts. " * 3)],
    ])
    chunks = chunks_of(pdf, size=250)
    assert [c.section for c in chunks] == ["Cowling", "Creep", "Creep", "Scuffing"]
    assert chunks[1].text.index("Creep.") < len(chunks[1].text) // 3


def test_dot_leaders_are_collapsed(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "index.pdf", [
        "Detonation ........................................ 10-29\n"
        "Dielectric Inspection ............................. 4-41\n"
        "Wait... what"])
    [unit] = read_units(pdf)
    assert "Detonation … 10-29" in unit.text and "Dielectric Inspection … 4-41" in unit.text
    assert "Wait... what" in unit.text  # an ellipsis is not a leader


def test_chunks_are_sized_in_the_units_the_splitter_counts(tmp_path: Path) -> None:
    """Ingest counts the embedding model's tokens; here a stand-in counts words."""
    pdf = factories.text_pdf(tmp_path / "m.pdf", [LONG])
    splitter = make_splitter(40, 5, length=lambda text: len(text.split()))
    chunks = list(split_into_chunks(read_units(pdf), file="m.pdf", file_sha256="x",
                                    doc_type=DocType.MANUAL, splitter=splitter))
    assert len(chunks) > 5
    assert all(len(c.text.split()) <= 40 for c in chunks)


def test_ids_are_stable_and_follow_content(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "m.pdf", [LONG])
    first, again = chunks_of(pdf), chunks_of(pdf)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert chunk_id("m.pdf", "v1", 1, None, 0, "a") == chunk_id("m.pdf", "v1", 1, None, 0, "a")
    assert chunk_id("m.pdf", "v1", 1, None, 0, "a") != chunk_id("m.pdf", "v1", 1, None, 0, "b")
    assert chunk_id("m.pdf", "v1", 1, None, 0, "a") != chunk_id("m.pdf", "v1", 2, None, 0, "a")
    assert chunk_id("m.pdf", "v1", 1, None, 0, "a") != chunk_id("m.pdf", "v2", 1, None, 0, "a")


def test_metadata_round_trip_omits_empty_values() -> None:
    chunk = Chunk(text="t", file="wo.csv", file_sha256="s", doc_type=DocType.LOG,
                  chunk_index=3, record_id="company_a-train-1")
    meta = chunk.to_metadata()
    assert MetaKey.PAGE not in meta and meta[MetaKey.RECORD_ID] == "company_a-train-1"
    assert Chunk.from_record(chunk.id, "t", meta) == chunk


def test_encrypted_pdf_with_empty_password_is_read(tmp_path: Path) -> None:
    plain = factories.text_pdf(tmp_path / "p.pdf", ["lockout tagout procedure"])
    locked = factories.encrypted_pdf(tmp_path / "e.pdf", plain, user_password="")
    assert "lockout" in next(iter(read_units(locked))).text


def test_encrypted_pdf_with_password_is_reported(tmp_path: Path) -> None:
    plain = factories.text_pdf(tmp_path / "p.pdf", ["secret"])
    locked = factories.encrypted_pdf(tmp_path / "e.pdf", plain, user_password="pw")
    with pytest.raises(SourceError, match="encrypted") as info:
        list(read_units(locked))
    assert info.value.file == "e.pdf"


def test_truncated_pdf_is_reported(tmp_path: Path) -> None:
    plain = factories.text_pdf(tmp_path / "p.pdf", [LONG] * 5)
    broken = factories.truncated(tmp_path / "broken.pdf", plain)
    with pytest.raises(SourceError) as info:
        list(read_units(broken))
    assert info.value.file == "broken.pdf"


def test_markdown_sections(tmp_path: Path) -> None:
    md = tmp_path / "faq.md"
    md.write_text("# FAQ\nintro\n## Homing\nHome with $H.\n", encoding="utf-8")
    units = list(read_units(md))
    assert units[-1].section == "FAQ > Homing" and "$H" in units[-1].text
    assert all(u.page is None for u in units)


GERMAN = "Wartung der Pumpe P-101A: Temperatur unter 80 °C halten, Lager prüfen. " * 4
CZECH = "Údržba čerpadla P-101A: před otevřením uzavřít ventil, teplota pod 80 °C. " * 4


@pytest.mark.parametrize(("encoding", "text", "word"), [
    ("cp1252", GERMAN, "prüfen"), ("utf-16", GERMAN, "prüfen"), ("cp1250", CZECH, "před")])
def test_non_utf8_text_is_decoded(tmp_path: Path, encoding: str, text: str, word: str) -> None:
    md = tmp_path / "notes.md"
    md.write_bytes(text.encode(encoding))
    decoded = next(iter(read_units(md))).text
    assert "°C" in decoded and word in decoded


def test_binary_bytes_with_a_text_name_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "notes.txt"
    fake.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(SourceError, match="not text in any known encoding"):
        list(read_units(fake))


def test_csv_work_orders_are_one_chunk_per_record(tmp_path: Path) -> None:
    log = tmp_path / "wo.csv"
    log.write_text("work_order_id,description\nA-1,PH639 RECTIFY STEERING FAULT\n"
                   "A-2,REPL TYRE\n", encoding="utf-8")
    chunks = list(split_into_chunks(read_units(log), file="wo.csv", file_sha256="x",
                                    doc_type=DocType.LOG, splitter=make_splitter(300, 50)))
    assert [(c.record_id, c.text) for c in chunks] == [("A-1", "PH639 RECTIFY STEERING FAULT"),
                                                        ("A-2", "REPL TYRE")]
    assert chunks[0].equipment_tags == ("ph639",) and chunks[1].equipment_tags == ()


def test_chunks_carry_normalised_fault_codes_in_metadata(tmp_path: Path) -> None:
    pdf = factories.text_pdf(tmp_path / "m.pdf", ["ALARM:2 soft limit. Press the E-STOP."])
    (chunk,) = chunks_of(pdf)
    assert chunk.fault_codes == ("alarm:2", "e-stop")
    assert chunk.to_metadata()[MetaKey.FAULT_CODES] == ["alarm:2", "e-stop"]
    assert Chunk.from_record(chunk.id, chunk.text, chunk.to_metadata()) == chunk


def test_csv_without_recognisable_columns_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "odd.csv"
    log.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="work-order id"):
        list(read_units(log))


def test_unsupported_type_is_reported(tmp_path: Path) -> None:
    other = tmp_path / "drawing.dwg"
    other.write_bytes(b"x")
    with pytest.raises(SourceError, match="unsupported file type .dwg"):
        list(read_units(other))
