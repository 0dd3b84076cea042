"""Split text units into chunks that keep their page, section and record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.contract import Chunk, DocType
from ingest.sources import TextUnit
from ingest.tags import equipment_tags, fault_codes


def make_splitter(size_chars: int, overlap_chars: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=size_chars, chunk_overlap=overlap_chars)


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
    the unit a technician looks up.
    """
    index = 0
    for unit in units:
        pieces = [unit.text.strip()] if unit.record_id else splitter.split_text(unit.text)
        for piece in pieces:
            if not piece.strip():
                continue
            yield Chunk(text=piece, file=file, file_sha256=file_sha256, doc_type=doc_type,
                        chunk_index=index, page=unit.page, section=unit.section,
                        record_id=unit.record_id, date=unit.date, ocr=unit.ocr,
                        equipment_tags=tuple(sorted(equipment_tags(piece))),
                        fault_codes=tuple(sorted(fault_codes(piece))))
            index += 1
