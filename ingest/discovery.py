"""Which files an ingest run reads, and the name each document is known by.

A document is identified by its path relative to the folder the admin named
(``manuals/pumps/notes.md`` given ``manuals/`` is ``pumps/notes.md``), or by its
file name when the file itself was named. Two files are never merged under one
name: a second file that would take a name already taken in the batch is
refused, visibly. Links that lead out of the named folder are refused too, so
that a ``passwd.md -> /etc/passwd`` planted on a USB stick is not indexed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.sources import SUPPORTED_SUFFIXES


@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str  # the document's id in the index: relative POSIX path, Unicode NFC


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str


def document_name(text: str) -> str:
    """The stored form of a document name: NFC, so a name typed on macOS (NFD) and the
    same name from Windows (NFC) are one document."""
    return unicodedata.normalize("NFC", text)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _walk(root: Path) -> tuple[list[SourceFile], list[Refusal]]:
    found: list[SourceFile] = []
    refused: list[Refusal] = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or path.is_dir():
            continue
        name = document_name(path.relative_to(root).as_posix())
        if not _inside(path, root):
            refused.append(Refusal(name, f"is a link to {path.resolve()}, outside {root}: "
                                         "links out of the folder are not followed; copy "
                                         "the file into the folder to ingest it"))
        elif path.is_file():
            found.append(SourceFile(path, name))
    return found, refused


def discover_sources(paths: Iterable[Path]) -> tuple[list[SourceFile], list[Refusal]]:
    """The files to read, named, and those refused with the reason (links out of their
    folder, a name another file of the batch already has)."""
    found: list[SourceFile] = []
    refused: list[Refusal] = []
    for path in paths:
        if path.is_dir():
            files, links = _walk(path)
            found += files
            refused += links
        else:
            found.append(SourceFile(path, document_name(path.name)))
    unique: dict[str, SourceFile] = {}
    for source in found:
        first = unique.setdefault(source.name, source)
        if first is not source:
            refused.append(Refusal(source.name, f"{source.path} has the same name as "
                                                f"{first.path}, ingested in this run: rename "
                                                "one, or ingest their common folder so each "
                                                "keeps its folder in its name"))
    return list(unique.values()), refused
