"""Composition: build the objects one process needs from its settings, once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.audit import AuditLog
from app.incidents import IncidentStore
from app.preview import PagePreviews
from app.settings import Settings
from app.users import UserStore
from ingest.lexicon import PLANT_FILE, Lexicon
from ingest.manifest import Manifest
from ingest.ocr import PageOcr
from ingest.originals import OriginalStore
from ingest.records import WorkOrderStore

if TYPE_CHECKING:  # imported where built: `plantops users` needs none of them (5 s of imports)
    from app.answering import Assistant
    from app.history import HistoryFinder
    from app.retrieval import Retriever
    from ingest.embedding import Embedder
    from ingest.index import ChunkIndex
    from ingest.lexical import LexicalIndex
    from ingest.pipeline import Ingestor
    from serving.client import ModelClient


def guard_log_path(settings: Settings) -> Path:
    return settings.data_dir / "egress-blocked.jsonl"


def protect_data_dir(data_dir: Path) -> None:
    """The data folder holds the users' password hashes, the audit log and every document:
    readable by the service account only (0700; its databases 0600), also for folders made
    by an older version with the default 0755/0644."""
    os.umask(0o077)  # everything this process creates from here on
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for database in data_dir.glob("*.sqlite3*"):
        database.chmod(0o600)


def open_services() -> Services:
    """What every command starts from: the settings (environment and config file), the
    egress guard installed for the hosts they name, and the services built on demand."""
    from app.egress import allowed_hosts_from_urls, install_egress_guard

    settings = Settings()
    protect_data_dir(settings.data_dir)
    install_egress_guard(
        allowed_hosts_from_urls([*settings.serving.base_urls, settings.ingest.index.chroma_url]),
        guard_log_path(settings))
    return Services(settings)


@dataclass
class Services:
    """Lazily built, so `plantops index stats` does not start a model client etc."""

    settings: Settings

    @cached_property
    def embedder(self) -> Embedder:
        from ingest.embedding import Embedder

        return Embedder(self.settings.ingest.embedding)

    @cached_property
    def index(self) -> ChunkIndex:
        from ingest.index import ChunkIndex

        return ChunkIndex(self.settings.ingest.index, self.settings.data_dir,
                          self.embedder.model_id)

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest(self.settings.data_dir / "manifest.sqlite3")

    @cached_property
    def originals(self) -> OriginalStore:
        return OriginalStore(self.settings.data_dir / "originals")

    @cached_property
    def lexicon(self) -> Lexicon:
        return Lexicon.load(self.settings.data_dir / PLANT_FILE)

    @cached_property
    def lexical(self) -> LexicalIndex:
        from ingest.lexical import LexicalIndex

        return LexicalIndex(self.settings.data_dir / "lexical", self.lexicon)

    @cached_property
    def records(self) -> WorkOrderStore:
        """The work orders as rows, in the manifest's database."""
        return WorkOrderStore(self.settings.data_dir / "manifest.sqlite3")

    @cached_property
    def ingestor(self) -> Ingestor:
        from ingest.pipeline import Ingestor

        return Ingestor(self.embedder, self.index, self.manifest, self.lexical,
                        self.settings.ingest.chunking, self.originals,
                        PageOcr(self.settings.ingest.ocr), self.settings.ingest.log_columns,
                        self.settings.ingest.encodings, self.records, self.lexicon)

    @cached_property
    def retriever(self) -> Retriever:
        from app.evidence import AbstentionModel
        from app.retrieval import Retriever
        from ingest.search import CandidateSearch

        return Retriever(self.embedder, CandidateSearch(self.index, self.lexical, self.manifest),
                         self.settings.retrieval,
                         AbstentionModel.load(self.settings.retrieval.abstention_model))

    @cached_property
    def history(self) -> HistoryFinder:
        from app.history import HistoryFinder
        from ingest.search import CandidateSearch

        return HistoryFinder(self.records, CandidateSearch(self.index, self.lexical,
                                                           self.manifest),
                             self.embedder, self.lexicon, self.settings.history)

    @cached_property
    def client(self) -> ModelClient:
        from serving.client import ModelClient

        return ModelClient(self.settings.serving)

    @cached_property
    def assistant(self) -> Assistant:
        from app.answering import Assistant

        return Assistant(self.retriever, self.client, self.history)

    @cached_property
    def previews(self) -> PagePreviews:
        return PagePreviews(self.originals, self.settings.data_dir / "previews")

    @cached_property
    def users(self) -> UserStore:
        return UserStore(self.settings.data_dir / "users.sqlite3")

    @cached_property
    def incidents(self) -> IncidentStore:
        return IncidentStore(self.settings.data_dir / "incidents.sqlite3")

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.settings.data_dir / "audit.sqlite3")
