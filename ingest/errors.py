"""Errors of the ingest package.

``IngestError`` is the base. ``SourceError`` is about one input file: the batch
reports it by name and goes on. ``IndexError_`` is about the index as a whole
(wrong embedding model, unreachable Chroma server) and stops the run.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class: every message says what happened and what to do next."""


class SourceError(IngestError):
    """One input file could not be read; the rest of the batch goes on."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class IndexUnavailableError(IngestError):
    """The index cannot be opened or reached."""


class EmbeddingModelMismatchError(IngestError):
    """The collection was built with another embedding model."""
