"""The index contract: what a chunk is and how it is stored in Chroma.

Every other module reads and writes chunk metadata through this module, so a
metadata key is spelled exactly once in the code base.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

COLLECTION_NAME = "plantops_chunks"
DISTANCE = "cosine"
# Collection-level metadata: which embedding model made the vectors. Mixing
# vectors from two models silently ruins retrieval, so ingest refuses it.
EMBEDDING_MODEL_KEY = "plantops_embedding_model"


class DocType(StrEnum):
    MANUAL = "manual"
    LOG = "log"


class MetaKey(StrEnum):
    """Chunk metadata keys as stored in Chroma."""

    FILE = "file"
    FILE_SHA256 = "file_sha256"
    DOC_TYPE = "doc_type"
    PAGE = "page"
    SECTION = "section"
    RECORD_ID = "record_id"
    CHUNK_INDEX = "chunk_index"
    EQUIPMENT_TAGS = "equipment_tags"  # list, normalised by ingest.tags: p101a, ph639
    FAULT_CODES = "fault_codes"  # list, normalised by ingest.tags: alarm:2, e-stop
    DATE = "date"  # int YYYYMMDD (work-order date), so Chroma can filter a date range
    OCR = "ocr"  # True when the text was recognised from a scanned page image


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a source document, with where it came from.

    ``page`` is the 1-based PDF page as pypdf counts it (None for Markdown);
    a chunk never spans pages, so a citation always opens the right page.
    """

    text: str
    file: str
    file_sha256: str
    doc_type: DocType
    chunk_index: int
    page: int | None = None
    section: str | None = None
    record_id: str | None = None
    equipment_tags: tuple[str, ...] = ()
    fault_codes: tuple[str, ...] = ()
    date: str | None = None  # ISO YYYY-MM-DD, work orders only
    ocr: bool = False
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", chunk_id(self.file, self.file_sha256, self.page,
                                                    self.record_id, self.chunk_index, self.text))

    def to_metadata(self) -> dict[str, str | int | list[str]]:
        """Chroma metadata: only non-empty values (Chroma rejects None and empty lists)."""
        values: dict[MetaKey, Any] = {
            MetaKey.FILE: self.file,
            MetaKey.FILE_SHA256: self.file_sha256,
            MetaKey.DOC_TYPE: str(self.doc_type),
            MetaKey.PAGE: self.page,
            MetaKey.SECTION: self.section,
            MetaKey.RECORD_ID: self.record_id,
            MetaKey.CHUNK_INDEX: self.chunk_index,
            MetaKey.EQUIPMENT_TAGS: list(self.equipment_tags),
            MetaKey.FAULT_CODES: list(self.fault_codes),
            MetaKey.DATE: date_number(self.date) if self.date else None,
            MetaKey.OCR: True if self.ocr else None,
        }
        return {str(k): v for k, v in values.items() if v is not None and v != "" and v != []}

    @property
    def unit(self) -> tuple[str, str]:
        """The citation unit this chunk belongs to: its PDF page, work-order record or
        Markdown section. Retrieval ranks units, so one page's chunks take one rank."""
        if self.page is not None:
            return self.file, f"page {self.page}"
        if self.record_id is not None:
            return self.file, f"record {self.record_id}"
        return self.file, f"section {self.section or ''}"

    @property
    def title(self) -> str:
        """A readable title from the file name: grbl_alarm_codes.pdf -> grbl alarm codes."""
        return self.file.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")

    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the text under its document title and section,
        so a question naming the machine or manual ("in linuxcnc") finds its chunks."""
        header = " — ".join(p for p in (self.title, self.section) if p)
        return f"{header}\n{self.text}"

    @classmethod
    def from_record(cls, chunk_id_: str, text: str, metadata: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from what Chroma returns."""
        return cls(
            text=text,
            file=str(metadata[MetaKey.FILE]),
            file_sha256=str(metadata.get(MetaKey.FILE_SHA256, "")),
            doc_type=DocType(metadata.get(MetaKey.DOC_TYPE, DocType.MANUAL)),
            chunk_index=int(metadata.get(MetaKey.CHUNK_INDEX, 0)),
            page=_optional_int(metadata.get(MetaKey.PAGE)),
            section=metadata.get(MetaKey.SECTION),
            record_id=metadata.get(MetaKey.RECORD_ID),
            equipment_tags=tuple(metadata.get(MetaKey.EQUIPMENT_TAGS) or ()),
            fault_codes=tuple(metadata.get(MetaKey.FAULT_CODES) or ()),
            date=_iso_date(metadata.get(MetaKey.DATE)),
            ocr=bool(metadata.get(MetaKey.OCR, False)),
            id=chunk_id_,
        )


def chunk_id(file: str, file_sha256: str, page: int | None, record_id: str | None, index: int,
             text: str) -> str:
    """A stable id derived from the file version, where the chunk is and what it says.

    Re-ingesting the same version yields the same ids, so an upsert adds nothing twice
    (and a killed run converges); two versions of a file never share an id, so writing
    the new one cannot touch what queries of the old one see.
    """
    key = "\x1f".join([file, file_sha256, str(page or ""), record_id or "", str(index), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def date_number(iso: str) -> int:
    """2024-03-07 -> 20240307: the stored form, comparable with $gte/$lte."""
    return int(iso.replace("-", ""))


def _iso_date(value: Any) -> str | None:
    if value is None:
        return None
    text = f"{int(value):08d}"
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
