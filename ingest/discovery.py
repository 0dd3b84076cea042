"""Which files an ingest run reads, and the name each document is known by.

A document is identified by its path relative to the folder the admin named
(``manuals/pumps/notes.md`` given ``manuals/`` is ``pumps/notes.md``), or by its
file name when the file itself was named. Two files are never merged under one
name: a second file that would take a name already taken in the batch is
refused, visibly. Links are refused by one check (``link_refusal``) wherever a
path comes from — a folder walk, a file or folder named on the command line or
by a shell glob, an upload — so that a ``passwd.md -> /etc/passwd`` planted on a
USB stick is not indexed however it is reached. Inside a named folder a link
that stays inside it is followed (it names a file the admin handed in).
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


def link_refusal(path: Path, root: Path | None = None) -> str | None:
    """Why ``path`` is not read, when it is a link: named itself (``root`` None: a file or
    folder named directly, through a glob, or uploaded), any link is refused; inside a
    named folder, a link whose real path leaves that folder. None: read it."""
    if root is None and not path.is_symlink():
        return None
    if root is not None and _inside(path, root):
        return None
    try:
        target = str(path.resolve(strict=False))
    except (OSError, RuntimeError):  # a loop of links
        target = "itself (a loop)"
    if root is None:
        return (f"is a link to {target}: links are not followed; name the file itself "
                "(or copy it onto the stick) to ingest it")
    return (f"is a link to {target}, outside {root}: links out of the folder are not "
            "followed; copy the file into the folder to ingest it")


def _walk(root: Path) -> tuple[list[SourceFile], list[Refusal]]:
    found: list[SourceFile] = []
    refused: list[Refusal] = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or path.is_dir():
            continue
        name = document_name(path.relative_to(root).as_posix())
        if reason := link_refusal(path, root):
            refused.append(Refusal(name, reason))
        elif path.is_file():
            found.append(SourceFile(path, name))
    return found, refused


def discover_sources(paths: Iterable[Path]) -> tuple[list[SourceFile], list[Refusal]]:
    """The files to read, named, and those refused with the reason (links out of their
    folder, a name another file of the batch already has)."""
    found: list[SourceFile] = []
    refused: list[Refusal] = []
    for path in paths:
        if reason := link_refusal(path):
            refused.append(Refusal(document_name(path.name), reason))
        elif path.is_dir():
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
