"""Ingest a batch of files: each file succeeds or fails on its own.

Bad input (unsupported, corrupt, encrypted, too large, no text) is reported by
file name with a reason; the rest of the batch goes on, and a file's old
chunks are only touched once its new ones have been parsed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from ingest.chunking import CHUNKING_FORMAT, make_splitter, split_into_chunks
from ingest.contract import Chunk, DocType
from ingest.discovery import SourceFile, discover_sources
from ingest.embedding import Embedder
from ingest.errors import IngestError, SourceError, disk_full
from ingest.hazards import Hazard, hazards_in
from ingest.index import ChunkIndex
from ingest.lexical import LexicalIndex
from ingest.lexicon import Lexicon
from ingest.manifest import Manifest, Status
from ingest.ocr import PageOcr
from ingest.originals import OriginalStore
from ingest.records import WorkOrderStore, work_orders
from ingest.runlock import IngestLock
from ingest.settings import ChunkingSettings, LogColumns
from ingest.sources import TextUnit, doc_type_for, read_units

T = TypeVar("T")
_OCR_MARK = ":ocr="  # in a recipe: pages were read by OCR, with these settings


class Outcome(StrEnum):
    INDEXED = "indexed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    REMOVED = "removed"


@dataclass(frozen=True)
class FileResult:
    file: str
    outcome: Outcome
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]

    @property
    def exit_code(self) -> int:
        """0 when everything was ingested, 3 when some files failed."""
        return 3 if self.failed else 0


class IngestObserver(Protocol):
    def waiting(self, holder: str) -> None: ...
    def file_reading(self, file: str) -> None: ...  # parsing: seconds for a long PDF
    def file_started(self, file: str, chunks: int, pages: int) -> None: ...
    def chunks_embedded(self, count: int) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...


class _Silent:
    def waiting(self, holder: str) -> None: ...
    def file_reading(self, file: str) -> None: ...
    def file_started(self, file: str, chunks: int, pages: int) -> None: ...
    def chunks_embedded(self, count: int) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _hazards(chunks: Sequence[Chunk], shown: int = 5) -> str:
    """The report's note of passages that defeat a safety device or address an AI (by page
    or work order), so an admin reads them before operators are shown them with a warning."""
    found: dict[Hazard, list[str]] = {}
    for chunk in chunks:
        for hazard in sorted(hazards_in(chunk.text)):
            where = f"p. {chunk.page}" if chunk.page else (chunk.record_id or chunk.section or "")
            found.setdefault(hazard, []).append(where)
    return "; ".join(f"{len(w)} passage(s) {h} ({', '.join(w[:shown])}"
                     f"{' …' if len(w) > shown else ''}): read them; answers that cite them "
                     "carry a warning" for h, w in found.items())


def _size(source: SourceFile) -> int:
    try:
        return source.path.stat().st_size
    except OSError:  # gone since discovery: reported when it is read
        return 0


def _describe(problems: list[str], shown: int = 3) -> str:
    if not problems:
        return ""
    more = f" (+{len(problems) - shown} more)" if len(problems) > shown else ""
    return f"{len(problems)} part(s) skipped: " + "; ".join(problems[:shown]) + more


def _first_match(by_pattern: dict[str, T], name: str) -> T | None:
    """The setting of the first file-name pattern that matches the document's name (its
    path in its folder) or its file name."""
    return next((value for pattern, value in by_pattern.items()
                 if fnmatch.fnmatch(name, pattern)
                 or fnmatch.fnmatch(name.rsplit("/", 1)[-1], pattern)), None)


class Ingestor:
    """Keeps the index and its manifest in step with the source files."""

    def __init__(self, embedder: Embedder, index: ChunkIndex, manifest: Manifest,
                 lexical: LexicalIndex, chunking: ChunkingSettings,
                 originals: OriginalStore, ocr: PageOcr | None = None,
                 log_columns: dict[str, LogColumns] | None = None,
                 encodings: dict[str, str] | None = None,
                 records: WorkOrderStore | None = None,
                 lexicon: Lexicon | None = None) -> None:
        self._embedder = embedder
        self._lock = IngestLock(originals.root.parent / "ingest.lock")
        self._records = records
        self._lexicon = lexicon or Lexicon({})
        self._encodings = encodings or {}
        self._ocr = ocr
        self._log_columns = log_columns or {}
        self._originals = originals
        self._index = index
        self._manifest = manifest
        self._lexical = lexical
        self._chunking = chunking
        if chunking.chunk_size_tokens > embedder.max_tokens:
            raise IngestError(f"ingest.chunking.chunk_size_tokens is {chunking.chunk_size_tokens}"
                              f" but the embedding model reads at most {embedder.max_tokens} "
                              "tokens: lower it (the default is 200)")
        self._splitter = make_splitter(chunking.chunk_size_tokens, chunking.chunk_overlap_tokens,
                                       embedder.count_tokens)

    def ingest(self, paths: Sequence[Path], *, prune: bool = False, dry_run: bool = False,
               observer: IngestObserver | None = None) -> IngestReport:
        observer = observer or _Silent()
        with self._lock.held(observer.waiting):
            return self._ingest(paths, prune, dry_run, observer)

    def _ingest(self, paths: Sequence[Path], prune: bool, dry_run: bool,
                observer: IngestObserver) -> IngestReport:
        report = IngestReport()
        files, refused = discover_sources(paths)
        if not dry_run:
            self._sweep_old_versions()  # what a run killed after a switch left behind
            for result in self._undo_interrupted({s.name for s in files}):
                report.results.append(result)
                observer.file_finished(result)
        for refusal in refused:
            result = FileResult(refusal.name, Outcome.FAILED, reason=refusal.reason)
            report.results.append(result)
            observer.file_finished(result)
        for source in sorted(files, key=_size):  # smallest first: a huge file holds no other
            result = self._ingest_one(source, dry_run, observer)
            report.results.append(result)
            observer.file_finished(result)
        if not dry_run:
            try:
                self._retire_old_names(files)
            except Exception as exc:  # noqa: BLE001 (reported; the next run redoes it)
                report.results.append(self._step_failed("(old document names)", exc))
        if prune:
            present = {s.name for s in files} | {r.name for r in refused}
            for entry in self._manifest.entries():
                if entry.file not in present:
                    if not dry_run:
                        self._remove(entry.file)
                    report.results.append(FileResult(entry.file, Outcome.REMOVED))
        if not dry_run:
            try:
                self._originals.prune(self._manifest.kept_versions())
                self._sync_lexical()
            except Exception as exc:  # noqa: BLE001 (the previous BM25 index stays in use)
                report.results.append(self._step_failed("(BM25 index)", exc))
        return report

    def _step_failed(self, step: str, exc: Exception) -> FileResult:
        """A step after the files failed (a full disk, most likely): named in the report;
        the run exits 3; the next run redoes it."""
        why = disk_full(self._originals.root.parent, exc) or f"{type(exc).__name__}: {exc}"
        return FileResult(step, Outcome.FAILED, reason=f"not rebuilt: {why}; the previous one "
                          "stays in use until the next ingest rebuilds it")

    def sync_lexical(self) -> None:
        """Rebuild BM25 when it lags the manifest (after changes, or a killed run); left to
        the ingest that is running, if one is (it rebuilds BM25 as it ends)."""
        with self._lock.if_free() as free:
            if free:
                self._sync_lexical()

    def _sync_lexical(self) -> None:
        fingerprint = self._manifest.fingerprint()
        if not self._lexical.is_current(fingerprint):
            self._lexical.refresh(self._index.all_ids(), self._index.records, fingerprint)

    def remove(self, file: str) -> bool:
        """Remove one document and all its chunks; False if it was not indexed."""
        with self._lock.held():
            return self._remove(file)

    def _remove(self, file: str) -> bool:
        known = self._manifest.get(file) is not None or bool(self._index.ids_for_file(file))
        self._index.delete_file(file)
        if self._records:
            self._records.delete_file(file)
        self._manifest.remove(file)
        self._originals.prune(self._manifest.kept_versions())
        self._sync_lexical()
        return known

    def recipe_for(self, name: str) -> str:
        """How ``name`` is cut: a file indexed with another recipe is cut again."""
        columns = _first_match(self._log_columns, name)
        encoding = _first_match(self._encodings, name)
        return ":".join([CHUNKING_FORMAT, str(self._chunking.chunk_size_tokens),
                         str(self._chunking.chunk_overlap_tokens),
                         columns.model_dump_json() if columns else "",
                         *([f"encoding={encoding}"] if encoding else [])])

    def _sweep_old_versions(self) -> None:
        """Delete chunks of versions no longer live. Queries already ignore them; this
        reclaims the space, and is redone by the next run if this one is killed."""
        for file, live_sha in self._manifest.to_sweep():
            self._index.delete_other_versions(file, live_sha)
            if self._records:
                self._records.delete_other_versions(file, live_sha)
            self._manifest.swept(file)

    def _undo_interrupted(self, redone: set[str]) -> list[FileResult]:
        """Versions a killed run began writing and never switched to. Holding the lock, no
        other run is writing them, so their chunks and rows are leftovers: queries never saw
        them, but they took space and kept a document that never arrived listed as pending.
        Files in this batch are simply redone; the others are undone and reported (the
        version before, if any, stays in use)."""
        results = []
        for entry in self._manifest.entries():
            if entry.status is not Status.PENDING or entry.file in redone:
                continue
            live = self._manifest.live_versions({entry.file}).get(entry.file)
            if live == entry.sha256:  # the live bytes being cut again: still whole
                continue
            partial = len(self._index.ids_for_file(entry.file, entry.sha256))
            if live is None:
                self._index.delete_file(entry.file)
                if self._records:
                    self._records.delete_file(entry.file)
                self._manifest.remove(entry.file)
                kept = "it is not in the index; ingest it again"
            elif partial:
                self._index.delete_other_versions(entry.file, live)
                if self._records:
                    self._records.delete_other_versions(entry.file, live)
                kept = "its previous version stays in use; ingest the new one again"
            else:
                continue  # undone by an earlier run already
            results.append(FileResult(entry.file, Outcome.FAILED, reason=(
                f"an earlier ingest was stopped while writing this file; its {partial:,} "
                f"partial chunks were removed: {kept}")))
        return results

    def _retire_old_names(self, files: list[SourceFile]) -> None:
        """Indexes made before documents were named by their folder path knew a file below
        a subfolder by its base name; once the same bytes are indexed under the full name,
        the old entry is the same document twice and goes."""
        names = {s.name for s in files}
        for source in files:
            old = source.path.name
            entry = self._manifest.get(old) if old != source.name else None
            current = self._manifest.get(source.name)
            if (entry and old not in names and current and current.status is Status.DONE
                    and current.sha256 == entry.sha256):
                self._index.delete_file(old)
                if self._records:
                    self._records.delete_file(old)
                self._manifest.remove(old)

    def _ingest_one(self, source: SourceFile, dry_run: bool,
                    observer: IngestObserver) -> FileResult:
        try:
            return self._index_file(source, dry_run, observer)
        except SourceError as exc:  # raised naming the file on disk: report the document
            return FileResult(source.name, Outcome.FAILED, reason=exc.reason)
        except Exception as exc:  # one bad file must not stop the batch
            full = disk_full(self._originals.root.parent, exc)
            return FileResult(source.name, Outcome.FAILED,
                              reason=full or f"unexpected error {type(exc).__name__}: {exc}")

    def _index_file(self, source: SourceFile, dry_run: bool,
                    observer: IngestObserver) -> FileResult:
        path, name = source.path, source.name
        observer.file_reading(name)
        sha = self._check_and_hash(path)
        entry = self._manifest.get(name)
        recipe = self.recipe_for(name)
        read_by_ocr = f"{_OCR_MARK}{self._ocr.recipe}" if self._ocr else ""
        if (entry and entry.sha256 == sha and entry.status is Status.DONE
                and entry.recipe == (recipe + read_by_ocr if _OCR_MARK in entry.recipe
                                     else recipe)):
            if not dry_run:
                self._originals.put(path, sha)  # indexes made before originals were kept
                self._keep_records(path, name, sha)
            return FileResult(name, Outcome.UNCHANGED, chunks=entry.chunks)
        problems: list[str] = []
        units = list(self._bounded_text(self._read(path, name, problems), name))
        chunks = self._bounded(split_into_chunks(units, file=name,
                                                 file_sha256=sha, doc_type=doc_type_for(path),
                                                 splitter=self._splitter), name)
        if not chunks:
            detail = f": {_describe(problems)}" if problems else ""
            raise SourceError(name, "no text found (an image-only or scanned document?)"
                              + detail)
        warning = "; ".join(w for w in (_describe(problems), _hazards(chunks)) if w)
        if dry_run:
            return FileResult(name, Outcome.INDEXED, chunks=len(chunks), reason=warning)
        doc_type = str(chunks[0].doc_type)
        if any(c.ocr for c in chunks):  # scanned pages: new OCR settings read them again
            recipe += read_by_ocr
        observer.file_started(name, len(chunks), len({c.page for c in chunks if c.page}))
        self._manifest.begin(name, sha, doc_type, recipe)
        self._originals.put(path, sha)  # before the switch: a live version always has its file
        self._write(chunks, observer)  # new ids (they include the sha): the old version stays
        if self._records and doc_type == DocType.LOG:  # rows of this version, still unseen
            self._records.replace(name, sha, self._records.recipe(self._lexicon),
                                  work_orders(units, name, sha, self._lexicon))
        if entry and entry.sha256 == sha:
            # The same bytes cut again (another recipe, or a killed run redone): the pieces
            # the new cut no longer makes share the version, so the sweep would keep them.
            # Removed before the switch, while the file is pending: a kill here is redone.
            new_ids = {c.id for c in chunks}
            self._index.delete_ids([i for i in self._index.ids_for_file(name, sha)
                                    if i not in new_ids])
        self._manifest.complete(name, sha, len(chunks), doc_type, recipe)  # the switch, atomic
        self._sweep_old_versions()
        return FileResult(name, Outcome.INDEXED, chunks=len(chunks), reason=warning)

    def _read(self, path: Path, name: str, problems: list[str]) -> Iterator[TextUnit]:
        return read_units(path, problems, self._ocr, _first_match(self._log_columns, name),
                          _first_match(self._encodings, name))

    def _keep_records(self, path: Path, name: str, sha: str) -> None:
        """Work-order rows for a log file indexed before they were kept, or derived with
        another lexicon: read again from the file, nothing embedded (seconds, not minutes)."""
        recipe = self._records.recipe(self._lexicon) if self._records else ""
        if (self._records is None or doc_type_for(path) is not DocType.LOG
                or self._records.is_current(name, sha, recipe)):
            return
        self._records.replace(name, sha, recipe,
                              work_orders(self._read(path, name, []), name, sha, self._lexicon))
        self._records.delete_other_versions(name, sha)

    def _bounded_text(self, units: Iterable[TextUnit], name: str) -> Iterator[TextUnit]:
        """The units, refused once their text passes ingest.chunking.max_text_chars."""
        limit, total = self._chunking.max_text_chars, 0
        for unit in units:
            total += len(unit.text)
            if total > limit:
                raise SourceError(name, f"holds more than {limit:,} characters of text "
                                        "(ingest.chunking.max_text_chars): split the file, or "
                                        "raise the limit if it really is one document")
            yield unit

    def _bounded(self, chunks: Iterable[Chunk], name: str) -> list[Chunk]:
        """All chunks, refused past ingest.chunking.max_chunks_per_file."""
        limit = self._chunking.max_chunks_per_file
        kept = list(itertools.islice(chunks, limit + 1))
        if len(kept) > limit:
            raise SourceError(name, f"would be cut into more than {limit:,} chunks "
                                    "(ingest.chunking.max_chunks_per_file): split the file, or "
                                    "raise the limit if it really is one document")
        return kept

    def _check_and_hash(self, path: Path) -> str:
        if not path.is_file():
            raise SourceError(path.name, f"no such file: {path}")
        size_mb = path.stat().st_size / 1e6
        if size_mb > self._chunking.max_file_size_mb:
            raise SourceError(path.name, f"file is {size_mb:.0f} MB, over the limit of "
                                         f"{self._chunking.max_file_size_mb:.0f} MB "
                                         "(ingest.chunking.max_file_size_mb)")
        if size_mb == 0:
            raise SourceError(path.name, "the file is empty (0 bytes)")
        return file_sha256(path)

    def _write(self, chunks: list[Chunk], observer: IngestObserver) -> None:
        step = self._embedder.batch_size
        for start in range(0, len(chunks), step):
            batch = chunks[start:start + step]
            self._index.upsert(batch, self._embedder.embed([c.indexed_text() for c in batch]))
            observer.chunks_embedded(len(batch))
