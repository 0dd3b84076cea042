"""DOCX manuals and XLSX/JSONL/CSV work-order exports, with broken rows reported."""

import json
from pathlib import Path

import docx
import openpyxl
import pytest

from ingest.errors import SourceError
from ingest.settings import LogColumns
from ingest.sources import read_units


def test_docx_headings_become_sections_and_tables_are_read(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Pump P-101A", level=1)
    document.add_paragraph("General description.")
    document.add_heading("Seal replacement", level=2)
    document.add_paragraph("Isolate and drain before removing the seal.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Torque", "45 Nm"
    path = tmp_path / "pump.docx"
    document.save(str(path))
    units = list(read_units(path))
    seal = next(u for u in units if "drain" in u.text)
    assert seal.section == "Pump P-101A > Seal replacement"
    assert any("Torque | 45 Nm" in u.text for u in units)


def test_xlsx_export_with_extra_columns(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["WO ID", "Asset", "Description", "Date"])
    sheet.append(["WO-7", "P-101A", "Replace mechanical seal", "2026-03-01"])
    sheet.append([None, None, None, None])
    sheet.append(["WO-8", "CV-12", None, "2026-03-02"])
    path = tmp_path / "cmms.xlsx"
    workbook.save(str(path))
    problems: list[str] = []
    units = list(read_units(path, problems))
    assert [u.record_id for u in units] == ["WO-7"]
    assert "Replace mechanical seal" in units[0].text and "Asset: P-101A" in units[0].text
    assert problems == ["row 4: no id or description, skipped"]


def test_jsonl_and_csv_broken_rows_are_skipped_and_reported(tmp_path: Path) -> None:
    jsonl = tmp_path / "wo.jsonl"
    jsonl.write_text(json.dumps({"work_order_id": "A-1", "description": "REPL TYRE"}) + "\n"
                     "{not json\n" + json.dumps({"work_order_id": "A-2", "description": "OIL"}))
    problems: list[str] = []
    assert [u.record_id for u in read_units(jsonl, problems)] == ["A-1", "A-2"]
    assert problems == ["row 2: malformed, skipped"]

    csv = tmp_path / "wo.csv"
    csv.write_text("work_order_id,description\nA-1,REPL TYRE\nA-2,OIL,EXTRA,FIELDS\nA-3,SEAL\n")
    problems = []
    assert [u.record_id for u in read_units(csv, problems)] == ["A-1", "A-3"]
    assert problems == ["row 3: malformed, skipped"]


def test_column_mapping_from_settings_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "sap_export.csv"
    path.write_text("Order,Short text,Basic start,Notes\n4711,Replace seal P-101A,07.03.2026,x\n")
    mapping = LogColumns(id="Order", description="Short text", date="Basic start")
    [unit] = list(read_units(path, columns=mapping))
    assert (unit.record_id, unit.date) == ("4711", "2026-03-07")
    assert unit.text.startswith("Replace seal P-101A")
    with pytest.raises(SourceError, match="'Auftrag' .* not in its header"):
        list(read_units(path, columns=LogColumns(id="Auftrag")))
    with pytest.raises(SourceError, match="name them in ingest.log_columns"):
        list(read_units(path))


def test_an_unterminated_quote_names_the_lines_it_swallowed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Before: the row after an unclosed quote vanished into its description, unnamed.
    from ingest.sources import read_units

    export = tmp_path / "cmms.csv"
    export.write_text('id,description,date\n'
                      'WO-1,"Pump P-101 seal leak,2026-01-02\n'
                      'WO-2,Motor M-7 bearing noise,2026-01-03\n'
                      'WO-3,Valve V-9 stuck,2026-01-04\n', encoding="utf-8")
    problems: list[str] = []
    units = list(read_units(export, problems))
    assert [u.record_id for u in units] == ["WO-1", "WO-2", "WO-3"]
    assert units[0].description == "Pump P-101 seal leak"
    assert any("line 2: a quote is not closed, so lines 2-4 ran together" in p
               for p in problems), problems
    multi = tmp_path / "multi.csv"
    multi.write_text('id,description\nWO-1,"Seal leak.\nReplaced the seal."\n', encoding="utf-8")
    problems = []
    assert [u.record_id for u in read_units(multi, problems)] == ["WO-1"]
    assert problems == []  # a description over two lines is fine
