"""Read source files into text units that know where they come from.

A ``TextUnit`` is the largest piece a chunk may come from without losing its
citation: one PDF page, one Markdown section, one work-order record.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import charset_normalizer
import dateutil.parser
from langchain_text_splitters import MarkdownHeaderTextSplitter
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.contract import DocType
from ingest.errors import SourceError
from ingest.ocr import OcrUnavailable, PageOcr
from ingest.pixels import ImageTooLarge
from ingest.settings import LogColumns

PDF_SUFFIXES = {".pdf"}
MARKDOWN_SUFFIXES = {".md", ".markdown", ".txt"}
DOCX_SUFFIXES = {".docx"}
LOG_SUFFIXES = {".csv", ".xlsx", ".jsonl"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | MARKDOWN_SUFFIXES | DOCX_SUFFIXES | LOG_SUFFIXES

# Header names that identify a work order and its text in CMMS exports.
_ID_HEADERS = ("work_order_id", "wo_id", "work_order", "wo", "id", "record_id", "order")
_TEXT_HEADERS = ("description", "desc", "text", "problem", "work_description", "summary")
_DATE_HEADERS = ("date", "work_date", "created", "created_at", "created_date", "reported",
                 "reported_date", "report_date", "opened", "open_date", "start_date",
                 "completed", "completed_date", "finish_date")


# Leaders of tables of contents and indexes ("Detonation ........ 10-29"): dozens of tokens
# each, they would fill an embedding's 256-token window with dots.
_LEADER = re.compile(r"[ \t]*(?:[.\u00b7\u2026][ \t]?){4,}[ \t]*")
_TITLE_MAX = 80


@dataclass(frozen=True)
class TextUnit:
    text: str
    page: int | None = None
    section: str | None = None  # the section in force where the unit starts
    headings: tuple[str, ...] = ()  # sections that start inside the unit, in order
    record_id: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD, work orders only
    ocr: bool = False  # text recognised from a page image, not read from a text layer
    # work orders only: the description as written, and the row's other columns
    description: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


def doc_type_for(path: Path) -> DocType:
    return DocType.LOG if path.suffix.lower() in LOG_SUFFIXES else DocType.MANUAL


def read_units(path: Path, problems: list[str] | None = None, ocr: PageOcr | None = None,
               columns: LogColumns | None = None,
               encoding: str | None = None) -> Iterator[TextUnit]:
    """Yield the text units of one file, or raise SourceError naming it.

    Parts that cannot be read while the rest can (a malformed log row) are skipped
    and described in ``problems``, so the admin learns of them. Scanned PDF pages
    are read with `ocr` when given; work-order `columns` override auto-detection.
    """
    problems = [] if problems is None else problems
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        yield from _read_pdf(path, problems, ocr)
    elif suffix in MARKDOWN_SUFFIXES:
        yield from _read_markdown(path, problems, encoding)
    elif suffix in DOCX_SUFFIXES:
        yield from _read_docx(path)
    elif suffix == ".csv":
        yield from _read_csv_log(path, problems, columns, encoding)
    elif suffix == ".xlsx":
        yield from _read_xlsx_log(path, problems, columns)
    elif suffix == ".jsonl":
        yield from _read_jsonl_log(path, problems, columns, encoding)
    else:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise SourceError(path.name, f"unsupported file type {suffix or '(none)'}; "
                                     f"supported: {supported}")


def _open_pdf(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(path.name, "the PDF is encrypted with a password: "
                                         "save an unprotected copy and ingest that")
        if len(reader.pages) == 0:
            raise SourceError(path.name, "the PDF has no pages; export or scan it again")
    except SourceError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise SourceError(path.name, f"not a readable PDF ({exc}); check the file is "
                                     "complete or export it again") from exc
    return reader


def _short_title(title: str) -> str:
    """An outline entry as a section name. Glossaries put whole definitions in their
    outline ("Creep. The deformation of a metal part..."): keep the term."""
    title = " ".join(title.split())
    if len(title) <= _TITLE_MAX:
        return title
    head = title.split(". ", 1)[0]
    return head if len(head) <= _TITLE_MAX else title[:_TITLE_MAX].rsplit(" ", 1)[0] + "…"


def _outline_titles(reader: PdfReader) -> dict[int, list[str]]:
    """Map 0-based page index -> the outline titles that start there, in outline order."""
    starts: dict[int, list[str]] = {}

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except (PdfReadError, KeyError, AttributeError, TypeError):
                continue
            starts.setdefault(page, []).append(_short_title(str(item.title)))

    try:
        walk(reader.outline)
    except (PdfReadError, KeyError, TypeError):
        return {}
    return starts


def tidy_pdf_text(text: str) -> str:
    """Collapse dot leaders to one ellipsis; the words and page numbers stay."""
    return _LEADER.sub(" … ", text)


def _read_pdf(path: Path, problems: list[str], ocr: PageOcr | None) -> Iterator[TextUnit]:
    reader = _open_pdf(path)
    titles = _outline_titles(reader)
    running: str | None = None  # the last outline title of the pages before
    pages: list[TextUnit] = []  # text '' on a scanned page, until OCR has read it
    for index, page in enumerate(reader.pages):
        headings = tuple(titles.get(index, ()))
        section, running = running, (headings[-1] if headings else running)
        try:
            text = tidy_pdf_text(page.extract_text() or "")
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(path.name, f"page {index + 1} cannot be read ({exc})") from exc
        if text.strip() or _has_images(page):
            pages.append(TextUnit(text=text, page=index + 1, section=section,
                                  headings=headings, ocr=not text.strip()))
    scanned = [unit.page for unit in pages if unit.ocr]
    if scanned and (ocr is None or not ocr.enabled):
        problems.append(f"{len(scanned)} scanned page(s) without a text layer skipped (OCR is "
                        f"off: ingest.ocr.enabled): pages {_page_list(scanned)}")
        yield from (unit for unit in pages if not unit.ocr)
        return
    read = ocr.read_pages(path, [page - 1 for page in scanned]) if ocr and scanned else iter(())
    for unit in pages:
        if not unit.ocr:
            yield unit
            continue
        try:
            text = next(read)
        except OcrUnavailable as exc:
            raise SourceError(path.name, f"scanned page {unit.page} cannot be read: {exc}") from exc
        except ImageTooLarge as exc:
            raise SourceError(path.name, str(exc)) from exc
        if text.strip():
            yield replace(unit, text=text)
        else:
            problems.append(f"page {unit.page}: scanned, but OCR found no text")


def _has_images(page: Any) -> bool:
    try:
        return len(page.images) > 0
    except Exception:  # pypdf raises many types for odd image streams: assume a scan
        return True


def _page_list(pages: list[int]) -> str:
    shown = ", ".join(map(str, pages[:10]))
    return shown + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")


# The 8-bit code pages plant PCs save text in, most common first (Western Europe, then
# Central Europe); latin-1 last. Tried only when the bytes are not UTF-8.
PLANT_ENCODINGS = ("cp1252", "cp1250", "latin-1")
# Control characters other than tab, newline, form feed and carriage return: decoded text that
# holds them was decoded with the wrong table (or is no text at all).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _clean(raw: bytes, encoding: str) -> str | None:
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return None if _CONTROLS.search(text) else text


def decode_text(raw: bytes, file: str, problems: list[str], encoding: str | None = None) -> str:
    """Text in whatever encoding the file was saved in, never silently altered.

    UTF-16 with a BOM and UTF-8 are certain. Otherwise the plant code pages that decode the
    bytes cleanly are the candidates; when they disagree, charset-normalizer chooses among
    them only, and the choice is reported in ``problems`` so the admin can check it and pin the
    file's encoding (``ingest.encodings``). A change of "80 °C" into "80 ḞC" or "180 蚓" by a
    guess from all of the world's encodings is worse for a plant than a refused file.
    """
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(file, f"cannot be read as {encoding} (set in ingest.encodings): "
                                    f"{exc}; correct the setting") from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:  # an odd byte count: cut off, or not UTF-16
            raise SourceError(file, f"starts like UTF-16 text but breaks off at byte "
                                    f"{exc.start} of {len(raw)} (a copy cut short?); copy the "
                                    "file again, or save it as UTF-8") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    decoded = {enc: text for enc in PLANT_ENCODINGS if (text := _clean(raw, enc)) is not None}
    if len(set(decoded.values())) == 1:
        return next(iter(decoded.values()))
    candidates = list(decoded) or None
    best = charset_normalizer.from_bytes(raw, cp_isolation=candidates).best()
    text = _clean(raw, best.encoding) if best is not None else None
    if best is None or text is None:
        raise SourceError(file, "not text in any known encoding (a binary file with a "
                                "text extension?); save it as UTF-8 text")
    others = ", ".join(e for e in decoded if e != best.encoding)
    problems.append(f"not UTF-8: read as {best.encoding} (a guess"
                    + (f"; {others} would read differently" if others else "")
                    + "); check the text, set the file's encoding in ingest.encodings if it "
                    "is wrong, or save it as UTF-8")
    return text


def _read_text(path: Path, problems: list[str], encoding: str | None) -> str:
    return decode_text(path.read_bytes(), path.name, problems, encoding)


def _read_markdown(path: Path, problems: list[str],
                   encoding: str | None) -> Iterator[TextUnit]:
    splitter = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3")], strip_headers=False
    )
    for doc in splitter.split_text(_read_text(path, problems, encoding)):
        heading = " > ".join(doc.metadata[k] for k in ("h1", "h2", "h3") if k in doc.metadata)
        if doc.page_content.strip():
            yield TextUnit(text=doc.page_content, section=heading or None)


def _read_docx(path: Path) -> Iterator[TextUnit]:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise SourceError(path.name, f"not a readable Word document ({exc}); open and save it "
                                     "again as .docx") from exc
    headings: list[str] = []
    lines: list[str] = []

    def flush() -> Iterator[TextUnit]:
        if any(line.strip() for line in lines):
            yield TextUnit(text="\n".join(lines), section=" > ".join(headings) or None)
        lines.clear()

    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style.startswith("Heading") and style[-1:].isdigit() and paragraph.text.strip():
            yield from flush()
            level = int(style[-1])
            headings[level - 1:] = [paragraph.text.strip()]
        lines.append(paragraph.text)
    yield from flush()
    for table in document.tables:
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
        if rows:
            yield TextUnit(text="\n".join(rows), section="table")


def _pick_column(headers: list[str], wanted: tuple[str, ...]) -> str | None:
    normalised = {str(h).strip().lower().replace(" ", "_"): h for h in headers if h is not None}
    return next((normalised[w] for w in wanted if w in normalised), None)


def _named_column(file: str, headers: list[str], name: str | None) -> str | None:
    """The header configured for this file, checked to exist."""
    if name is None:
        return None
    if name not in headers:
        raise SourceError(file, f"column {name!r} (set for this file in ingest.log_columns) is "
                                f"not in its header {headers}; correct the setting")
    return name


def _records(file: str, headers: list[str], rows: Iterable[tuple[int, dict[str, Any] | None]],
             problems: list[str], columns: LogColumns | None = None) -> Iterator[TextUnit]:
    """Work-order records from rows keyed by header; other columns (asset, date, action…)
    follow the description as `name: value` lines so they are searchable too."""
    columns = columns or LogColumns()
    id_col = _named_column(file, headers, columns.id) or _pick_column(headers, _ID_HEADERS)
    text_col = (_named_column(file, headers, columns.description)
                or _pick_column(headers, _TEXT_HEADERS))
    date_col = _named_column(file, headers, columns.date) or _pick_column(headers, _DATE_HEADERS)
    if id_col is None or text_col is None:
        raise SourceError(file, f"cannot find the work-order id and description columns "
                                f"among {headers}; rename them (e.g. work_order_id, "
                                "description) or name them in ingest.log_columns")
    for number, row in rows:
        if row is None:
            problems.append(f"row {number}: malformed, skipped")
            continue
        record_id = str(row.get(id_col) or "").strip()
        text = str(row.get(text_col) or "").strip()
        if not record_id or not text:
            problems.append(f"row {number}: no id or description, skipped")
            continue
        fields = tuple((str(k), str(v)) for k, v in row.items()
                       if k not in (id_col, text_col) and k and v not in (None, ""))
        extras = [f"{k}: {v}" for k, v in fields]
        day = _parse_date(row.get(date_col)) if date_col else None
        if date_col and row.get(date_col) not in (None, "") and day is None:
            problems.append(f"row {number}: unreadable date {row.get(date_col)!r}, "
                            "kept without a date")
        yield TextUnit(text="\n".join([text, *extras]), record_id=record_id, date=day,
                       description=text, fields=fields)


def _parse_date(value: Any) -> str | None:
    """A cell's date as ISO YYYY-MM-DD; Excel gives datetimes, CSV any common spelling
    (ISO first; otherwise day before month, as most plant exports outside the US write)."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dateutil.parser.isoparse(text).strftime("%Y-%m-%d")
    except ValueError:
        pass
    try:
        return dateutil.parser.parse(text, dayfirst=True).strftime("%Y-%m-%d")
    except (ValueError, OverflowError):
        return None


def _read_csv_log(path: Path, problems: list[str], columns: LogColumns | None,
                  encoding: str | None) -> Iterator[TextUnit]:
    text = _read_text(path, problems, encoding)
    lines = text.splitlines()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = list(reader.fieldnames or [])

    def rows() -> Iterator[tuple[int, dict[str, Any] | None]]:
        while True:
            first = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # one oversized or mangled cell: that row only
                problems.append(f"row {reader.line_num + 1}: {exc}, skipped")
                continue
            broken = None in row or any(v is None for v in row.values())
            if reader.line_num > first and (broken or _swallows_rows(row, len(headers))):
                # an unclosed quote ran over the lines after it: read them one by one
                problems.append(f"line {first}: a quote is not closed, so lines {first}-"
                                f"{reader.line_num} ran together; read one by one instead "
                                "(check that row and close its quote in the export)")
                for number in range(first, reader.line_num + 1):
                    line = lines[number - 1] if number <= len(lines) else ""
                    if number == first:
                        line = line.replace('"', "", 1)
                    if line.strip():
                        fields = next(csv.reader([line]), [])
                        ok = len(fields) == len(headers)
                        yield number, dict(zip(headers, fields, strict=False)) if ok else None
                continue
            yield reader.line_num, None if broken else row

    yield from _records(path.name, headers, rows(), problems, columns)


def _swallows_rows(row: dict[str, Any], columns: int) -> bool:
    """Does a cell that spans lines hold lines that are rows of their own (as many fields as
    the header)? A description written over several lines does not."""
    for value in row.values():
        if isinstance(value, str) and "\n" in value:
            for line in value.splitlines()[1:]:
                if len(next(csv.reader([line]), [])) >= max(columns, 2):
                    return True
    return False


def _read_jsonl_log(path: Path, problems: list[str], columns: LogColumns | None,
                    encoding: str | None) -> Iterator[TextUnit]:
    parsed: list[tuple[int, dict[str, Any] | None]] = []
    for number, line in enumerate(_read_text(path, problems, encoding).splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        parsed.append((number, value if isinstance(value, dict) else None))
    headers = sorted({k for _, row in parsed if row for k in row})
    yield from _records(path.name, headers, parsed, problems, columns)


def _read_xlsx_log(path: Path, problems: list[str],
                   columns: LogColumns | None) -> Iterator[TextUnit]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise SourceError(path.name, f"not a readable Excel workbook ({exc}); save it "
                                     "again as .xlsx") from exc
    try:
        sheet_rows = workbook.active.iter_rows(values_only=True)
        headers = [str(h) if h is not None else "" for h in next(sheet_rows, ())]
        rows = ((n, dict(zip(headers, values, strict=False)))
                for n, values in enumerate(sheet_rows, 2) if any(v is not None for v in values))
        yield from _records(path.name, headers, rows, problems, columns)
    finally:
        workbook.close()
