"""Split text units into chunks that keep their page, section and record."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.contract import Chunk, DocType
from ingest.sources import TextUnit
from ingest.tags import equipment_tags, fault_codes, table_codes

# Bump when the way text is read, cleaned or cut changes: every file is then re-cut on the
# next ingest run, unchanged or not (the manifest records the recipe each file was cut with).
CHUNKING_FORMAT = "4"


def make_splitter(size: int, overlap: int,
                  length: Callable[[str], int] = len) -> RecursiveCharacterTextSplitter:
    """``size`` and ``overlap`` in the units ``length`` counts: characters by default,
    the embedding model's tokens in ingest (``Embedder.count_tokens``), so that no chunk
    is longer than the model reads and silently loses its end.

    The splitter measures every word (every character of a line without spaces) on its own;
    their counts are cached, since the same words recur, which keeps a long text's split
    linear and about 20x faster with a tokenizer as ``length``."""
    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap,
                                          length_function=functools.lru_cache(2**16)(length))


def _heading_positions(unit: TextUnit) -> list[tuple[int, str]]:
    """Where each heading of the unit starts in its text; one not found (the outline
    words differ from the page's) counts as starting at the top of the unit."""
    found = []
    for heading in unit.headings:
        words = [re.escape(w) for w in heading.rstrip("…").split()]
        match = re.search(r"\s+".join(words), unit.text, re.IGNORECASE) if words else None
        found.append((match.start() if match else 0, heading))
    return sorted(found, key=lambda item: item[0])


def _section_at(position: int, unit: TextUnit, headings: list[tuple[int, str]]) -> str | None:
    section = unit.section
    for start, heading in headings:
        if start > position:
            break
        section = heading
    return section


def split_into_chunks(
    units: Iterable[TextUnit],
    *,
    file: str,
    file_sha256: str,
    doc_type: DocType,
    splitter: RecursiveCharacterTextSplitter,
) -> Iterator[Chunk]:
    """Split each unit on its own, so no chunk spans two pages or records.

    Work-order records are one chunk each: they are short and the record is
    the unit a technician looks up. A chunk's section is the one in force a third
    of the way into it: a heading near its top names it, one near its end does not.
    """
    index = 0
    table: str | None = None  # the code table ("alarm", "error") in force, across pages
    for unit in units:
        pieces = [unit.text.strip()] if unit.record_id else splitter.split_text(unit.text)
        headings = _heading_positions(unit)
        cursor = scanned = 0
        for piece in pieces:
            if not piece.strip():
                continue
            start = unit.text.find(piece, cursor)
            start = cursor if start < 0 else start
            cursor = start + 1
            codes = fault_codes(piece)
            if not unit.record_id:
                _, table = table_codes(unit.text[scanned:start], table)
                scanned = max(scanned, start)
                codes |= table_codes(piece, table)[0]
            yield Chunk(text=piece, file=file, file_sha256=file_sha256, doc_type=doc_type,
                        chunk_index=index, page=unit.page,
                        section=_section_at(start + len(piece) // 3, unit, headings),
                        record_id=unit.record_id, date=unit.date, ocr=unit.ocr,
                        equipment_tags=tuple(sorted(equipment_tags(piece))),
                        fault_codes=tuple(sorted(codes)))
            index += 1
        if not unit.record_id:
            _, table = table_codes(unit.text[scanned:], table)
