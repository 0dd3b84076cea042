"""Composition: build the objects one process needs from its settings, once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.answer.preview import PagePreviews
from app.records.audit import AuditLog
from app.records.collections import Collections, Readers
from app.records.database import EMBEDDED_FILE, Database
from app.records.incidents import IncidentStore
from app.records.users import UserStore
from app.records.work_orders import DraftStore
from app.settings import Settings
from ingest.lexicon import PLANT_FILE, Lexicon
from ingest.manifest import Manifest
from ingest.ocr import PageOcr
from ingest.originals import OriginalStore
from ingest.records import WorkOrderStore

if TYPE_CHECKING:  # imported where built: `plantops users` needs none of them (5 s of imports)
    from app.answer.answering import Assistant
    from app.answer.history.finder import HistoryFinder
    from app.answer.retrieval import Retriever
    from app.records.directory import Directory
    from app.workorders.desk import WorkOrderDesk
    from ingest.embedding import Embedder
    from ingest.index import ChunkIndex
    from ingest.lexical import LexicalIndex
    from ingest.pipeline import Ingestor
    from serving.client import ModelClient


def guard_log_path(settings: Settings) -> Path:
    return settings.data_dir / "egress-blocked.jsonl"


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
                        PageOcr(self.settings.ingest.ocr,
                                self.settings.ingest.max_image_megapixels),
                        self.settings.ingest.log_columns,
                        self.settings.ingest.encodings, self.records, self.lexicon)

    @cached_property
    def retriever(self) -> Retriever:
        from app.answer.evidence import AbstentionModel
        from app.answer.retrieval import Retriever
        from ingest.search import CandidateSearch

        return Retriever(self.embedder, CandidateSearch(self.index, self.lexical, self.manifest),
                         self.settings.retrieval,
                         AbstentionModel.load(self.settings.retrieval.abstention_model))

    @cached_property
    def history(self) -> HistoryFinder:
        from app.answer.history.finder import HistoryFinder
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
        from app.answer.answering import Assistant

        return Assistant(self.retriever, self.client, self.history)

    @cached_property
    def previews(self) -> PagePreviews:
        return PagePreviews(self.originals, self.settings.data_dir / "previews",
                            self.settings.ingest.max_image_megapixels)

    @cached_property
    def database(self) -> Database:
        """The records' database at this code's schema; files of earlier releases in the data
        dir are imported into it once (app/records/database.py)."""
        chosen = self.settings.database
        url = chosen.url or f"sqlite:///{self.settings.data_dir / EMBEDDED_FILE}"
        database = Database(url, password=chosen.password())
        database.import_legacy(self.settings.data_dir)
        return database

    @cached_property
    def users(self) -> UserStore:
        return UserStore(self.database)

    @cached_property
    def directory(self) -> Directory | None:
        """The plant's directory when directory.url names one, else None (local accounts)."""
        chosen = self.settings.directory
        if chosen.url is None:
            return None
        from app.records.directory import Directory, DirectoryConfig

        return Directory(DirectoryConfig(
            **chosen.model_dump(exclude={"bind_password_file", "ca_file"}),
            ca_file=str(chosen.ca_file) if chosen.ca_file else None,
            bind_password=chosen.bind_password()))

    @cached_property
    def collections(self) -> Collections:
        """Which files are in which collection (the records database), and who may read each
        (the settings)."""
        return Collections(self.database, {
            name: Readers.of(chosen.roles, chosen.groups)
            for name, chosen in self.settings.collections.items()})

    @cached_property
    def incidents(self) -> IncidentStore:
        return IncidentStore(self.database)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.database, keep_text=self.settings.audit.keep_question_text)

    @cached_property
    def work_order_store(self) -> DraftStore:
        """The drafts and confirmed work orders (the records database)."""
        return DraftStore(self.database, self.settings.work_orders.confirm_roles)

    @cached_property
    def work_orders(self) -> WorkOrderDesk:
        """Drafts from incidents, confirmation, the CMMS export and the history they join."""
        from app.workorders.desk import WorkOrderDesk
        from app.workorders.history import publish

        store = self.work_order_store
        data = self.settings.data_dir
        return WorkOrderDesk(
            store, self.settings.work_orders, self.audit,
            known_assets=lambda hidden: self.records.snapshot().assets_outside(hidden),
            publish=lambda: publish(store.all_confirmed, data / "assistant", self.ingestor,
                                    self.manifest),
            default_export_dir=data / "exports" / "work-orders")
