"""Read source files into text units that know where they come from.

A ``TextUnit`` is the largest piece a chunk may come from without losing its
citation: one PDF page, one Markdown section, one work-order record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from langchain_text_splitters import MarkdownHeaderTextSplitter
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.contract import DocType
from ingest.errors import SourceError

PDF_SUFFIXES = {".pdf"}
MARKDOWN_SUFFIXES = {".md", ".markdown", ".txt"}
LOG_SUFFIXES = {".csv"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | MARKDOWN_SUFFIXES | LOG_SUFFIXES

# Header names that identify a work order and its text in CMMS exports.
_ID_HEADERS = ("work_order_id", "wo_id", "work_order", "wo", "id", "record_id", "order")
_TEXT_HEADERS = ("description", "desc", "text", "problem", "work_description", "summary")


@dataclass(frozen=True)
class TextUnit:
    text: str
    page: int | None = None
    section: str | None = None
    record_id: str | None = None


def doc_type_for(path: Path) -> DocType:
    return DocType.LOG if path.suffix.lower() in LOG_SUFFIXES else DocType.MANUAL


def read_units(path: Path) -> Iterator[TextUnit]:
    """Yield the text units of one file, or raise SourceError naming it."""
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        yield from _read_pdf(path)
    elif suffix in MARKDOWN_SUFFIXES:
        yield from _read_markdown(path)
    elif suffix in LOG_SUFFIXES:
        yield from _read_csv_log(path)
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
        _ = len(reader.pages)
    except SourceError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError) as exc:
        raise SourceError(path.name, f"not a readable PDF ({exc}); check the file is "
                                     "complete or export it again") from exc
    return reader


def _outline_titles(reader: PdfReader) -> dict[int, str]:
    """Map 0-based page index -> the outline title that starts there."""
    starts: dict[int, str] = {}

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            try:
                starts.setdefault(reader.get_destination_page_number(item), str(item.title))
            except (PdfReadError, KeyError, AttributeError, TypeError):
                continue

    try:
        walk(reader.outline)
    except (PdfReadError, KeyError, TypeError):
        return {}
    return starts


def _read_pdf(path: Path) -> Iterator[TextUnit]:
    reader = _open_pdf(path)
    titles = _outline_titles(reader)
    section: str | None = None
    for index, page in enumerate(reader.pages):
        section = titles.get(index, section)
        try:
            text = page.extract_text() or ""
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(path.name, f"page {index + 1} cannot be read ({exc})") from exc
        if text.strip():
            yield TextUnit(text=text, page=index + 1, section=section)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _read_markdown(path: Path) -> Iterator[TextUnit]:
    splitter = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3")], strip_headers=False
    )
    for doc in splitter.split_text(_read_text(path)):
        heading = " > ".join(doc.metadata[k] for k in ("h1", "h2", "h3") if k in doc.metadata)
        if doc.page_content.strip():
            yield TextUnit(text=doc.page_content, section=heading or None)


def _pick_column(headers: list[str], wanted: tuple[str, ...]) -> str | None:
    normalised = {h.strip().lower().replace(" ", "_"): h for h in headers}
    return next((normalised[w] for w in wanted if w in normalised), None)


def _read_csv_log(path: Path) -> Iterator[TextUnit]:
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    headers = reader.fieldnames or []
    id_col = _pick_column(headers, _ID_HEADERS)
    text_col = _pick_column(headers, _TEXT_HEADERS)
    if id_col is None or text_col is None:
        raise SourceError(path.name, f"cannot find the work-order id and description columns "
                                     f"among {headers}; rename them (e.g. work_order_id, "
                                     "description)")
    for row in reader:
        record_id = (row.get(id_col) or "").strip()
        text = (row.get(text_col) or "").strip()
        if record_id and text:
            yield TextUnit(text=text, record_id=record_id)
