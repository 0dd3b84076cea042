"""BM25 over every chunk, persisted beside the index and rebuilt by ingest.

Tokens are lower-case words plus the normalised equipment tags and fault codes
of ``ingest.tags`` (``ALARM:2`` -> ``alarm:2``, ``P-101A`` -> ``p101a``), which
plain word tokenisers split apart and lose.

A rebuild from all chunks after each changing ingest run keeps it exactly in
step with Chroma, removals included; it costs seconds for ~100k short chunks. A process
that rebuilt it before keeps the chunks' tokens and reads only the new chunks (``refresh``).
Readers notice a rebuild through the ``fingerprint`` file and reload.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from ingest.contract import Chunk
from ingest.lexicon import Lexicon
from ingest.tags import all_codes, tags_in_query
from ingest.words import WORD, content_words

# Bump when what is stored changes: ingest then rebuilds older indexes.
FORMAT = "6"  # 6: the file of each chunk, for a reader's hidden files


def document_tokens(text: str, codes: Sequence[str] = ()) -> list[str]:
    """Words, plus the codes in the text and those ingest found around it (``codes``: the
    rows of a code table carry their code only in the chunk's metadata)."""
    return content_words(text) + sorted(all_codes(text) | set(codes))


def query_tokens(text: str) -> list[str]:
    return content_words(text) + sorted(tags_in_query(text))


@dataclass(frozen=True)
class _Loaded:
    """One stored version of the index, read whole. Queries take one and use only it: the UI
    answers many questions at once while an admin's ingest swaps in a new version, and ids
    of one version with scores of another would name the wrong chunks."""

    fingerprint: str | None = None
    ids: list[str] = field(default_factory=list)
    types: np.ndarray = field(default_factory=lambda: np.asarray([]))
    model: bm25s.BM25 | None = None
    doc_freq: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # the files, each once
    file_of: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=np.int32))

    def shown(self, hidden: frozenset[str]) -> np.ndarray | None:
        """Per chunk, whether a reader who may not read ``hidden`` files sees it (None: all
        shown)."""
        if not hidden:
            return None
        if len(self.file_of) != len(self.ids):  # an index from before files were kept
            return np.zeros(len(self.ids), dtype=bool)
        return ~np.isin(self.file_of, [i for i, f in enumerate(self.files) if f in hidden])

    def idf(self, token: str) -> float:
        """Inverse document frequency; a word no document contains weighs the most."""
        n = max(len(self.ids), 1)
        return math.log(1 + n / (1 + self.doc_freq.get(token, 0)))


@dataclass(frozen=True)
class _Tokens:
    """What BM25 keeps of one chunk."""

    tokens: list[str]  # (bm25s takes lists; never changed)
    doc_type: str
    file: str


class LexicalIndex:
    """A bm25s index of chunk ids, stored in ``folder``."""

    def __init__(self, folder: Path, lexicon: Lexicon | None = None) -> None:
        self.folder = folder
        self._lexicon = lexicon or Lexicon({})
        self._loaded = _Loaded()
        self._loading = threading.Lock()
        # the tokens of the chunks of the last index this process wrote (``refresh``; the
        # lexicon they were expanded with is this object's, for its life)
        self._tokens: dict[str, _Tokens] = {}

    @property
    def _fingerprint_file(self) -> Path:
        return self.folder / "fingerprint"

    def stored_fingerprint(self) -> str | None:
        try:
            return self._fingerprint_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _version(self, manifest_fingerprint: str) -> str:
        """What the stored index was built from: format, lexicon and the indexed files."""
        return f"{FORMAT}:{self._lexicon.digest}:{manifest_fingerprint}"

    def is_current(self, manifest_fingerprint: str) -> bool:
        return self.stored_fingerprint() == self._version(manifest_fingerprint)

    def rebuild(self, chunks: Sequence[Chunk], fingerprint: str) -> None:
        """Write a new index of ``chunks`` next to the old one, then swap it in."""
        self._swap({c.id: self._tokenised(c) for c in chunks}, fingerprint)

    def refresh(self, ids: Sequence[str], read: Callable[[Sequence[str]], Sequence[Chunk]],
                fingerprint: str) -> None:
        """As ``rebuild`` for the chunks ``ids``, reading (``read``) and tokenising only those
        this process has not: a work order confirmed in the UI adds one chunk to 13,000, and
        reading and tokenising them all again was 1.3 of the 1.9 s its ingest took."""
        missing = [i for i in ids if i not in self._tokens]
        fresh = {c.id: self._tokenised(c) for c in read(missing)} if missing else {}
        known = self._tokens | fresh
        self._swap({i: known[i] for i in ids if i in known}, fingerprint)  # (gone meanwhile)

    def _tokenised(self, chunk: Chunk) -> _Tokens:
        tokens = document_tokens(self._lexicon.expand(chunk.indexed_text()),
                                 (*chunk.fault_codes, *chunk.equipment_tags))
        return _Tokens([sys.intern(t) for t in tokens], str(chunk.doc_type), chunk.file)

    def _swap(self, chunks: dict[str, _Tokens], fingerprint: str) -> None:
        tmp = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            self._write(tmp, chunks, fingerprint)
        except BaseException:  # a full disk, a kill: the old index stays whole, no half new one
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        tmp.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._tokens = chunks  # the live chunks', for the next refresh (a removed file's go)

    def _write(self, tmp: Path, chunks: dict[str, _Tokens], fingerprint: str) -> None:
        tmp.mkdir(parents=True)
        if chunks:
            tokens = [c.tokens for c in chunks.values()]
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
            model.save(str(tmp / "bm25"))
            doc_freq = Counter(t for doc in tokens for t in set(doc))
            (tmp / "df.json").write_text(json.dumps(doc_freq), encoding="utf-8")
        files = list(dict.fromkeys(c.file for c in chunks.values()))
        number = {f: i for i, f in enumerate(files)}
        (tmp / "ids.json").write_text(json.dumps({
            "ids": list(chunks), "types": [c.doc_type for c in chunks.values()],
            "files": files, "file_of": [number[c.file] for c in chunks.values()]}),
            encoding="utf-8")
        (tmp / "fingerprint").write_text(self._version(fingerprint), encoding="utf-8")

    def _current(self) -> _Loaded:
        """The stored version, reloaded when a rebuild has swapped in another."""
        if self.stored_fingerprint() == self._loaded.fingerprint:
            return self._loaded
        with self._loading:  # one reload, however many questions arrive meanwhile
            while (fingerprint := self.stored_fingerprint()) != self._loaded.fingerprint:
                loaded = self._read(fingerprint)
                if self.stored_fingerprint() == fingerprint:  # no rebuild while reading
                    self._loaded = loaded
            return self._loaded

    def _read(self, fingerprint: str | None) -> _Loaded:
        ids_file, df_file = self.folder / "ids.json", self.folder / "df.json"
        try:
            stored = json.loads(ids_file.read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(self.folder / "bm25")) if stored["ids"] else None
            doc_freq = json.loads(df_file.read_text(encoding="utf-8")) if model else {}
        except FileNotFoundError:  # no index yet, or the instant of a swap (retried)
            return _Loaded(fingerprint)
        if "files" not in stored:  # written by a release before collections: ingest
            # rebuilds it (FORMAT); until then no lexical hit can be checked, so none is shown
            # to a reader with hidden files (see ``shown``)
            stored |= {"files": [], "file_of": []}
        return _Loaded(fingerprint, stored["ids"], np.asarray(stored["types"]), model, doc_freq,
                       stored["files"], np.asarray(stored["file_of"], dtype=np.int32))

    def document_frequency(self, token: str, hidden: frozenset[str] = frozenset()) -> int:
        """How many chunks hold ``token`` (a word, or a normalised tag or code); of those a
        reader sees, when ``hidden`` names files they may not read (a code only a forbidden
        document holds is, to them, a code the documents never name)."""
        loaded = self._current()
        count = loaded.doc_freq.get(token, 0)
        shown = loaded.shown(hidden)
        if shown is None or not count or loaded.model is None:
            return count
        holding = loaded.model.get_scores([token]) > 0  # BM25 scores only chunks holding it
        return int(np.count_nonzero(holding & shown))

    def holding(self, token: str, k: int, doc_type: str | None = None,
                hidden: frozenset[str] = frozenset()) -> list[str]:
        """The chunks that hold ``token`` (a normalised code), at most ``k``, the shortest
        first (BM25 of the token alone), never of a ``hidden`` file."""
        loaded = self._current()
        if loaded.model is None or not loaded.doc_freq.get(token):
            return []
        scores = loaded.model.get_scores([token])
        if doc_type is not None:
            scores = np.where(loaded.types == doc_type, scores, 0.0)
        if (shown := loaded.shown(hidden)) is not None:
            scores = np.where(shown, scores, 0.0)
        top = np.argsort(-scores)[:k]
        return [loaded.ids[i] for i in top if scores[i] > 0]

    def frequent_codes(self, limit: int,
                       hidden: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
        """Numbered fault codes (``alarm:5``) the most chunks hold, with their counts: what
        the documents explain, for example questions (of the documents the reader sees)."""
        codes = [(t, n) for t, n in self._current().doc_freq.items() if ":" in t]
        ranked = sorted(codes, key=lambda item: (-item[1], item[0]))
        if not hidden:
            return ranked[:limit]
        seen = ((t, self.document_frequency(t, hidden)) for t, _ in ranked)
        return [item for item in seen if item[1]][:limit]

    def coverage(self, query: str, text: str) -> float:
        """IDF-weighted share of the question's words (and codes) present in ``text``.

        Evidence for abstention: a passage that lacks the question's rarest words
        (a standard number, a machine type) rarely answers it, however similar.
        """
        return self.coverages(query, [text])[0]

    def coverages(self, query: str, texts: Sequence[str]) -> list[float]:
        """``coverage`` of many texts, the question tokenised once (retrieval scores every
        candidate)."""
        loaded = self._current()
        codes = tags_in_query(query)
        # sorted: float sums in a fixed order, so a tie between two pages is broken the same
        # way in every process (set order changes with Python's string hashing)
        weights = {token: loaded.idf(token)
                   for token in sorted({*content_words(self._lexicon.expand(query)), *codes})}
        total = sum(weights.values())
        if not total:
            return [0.0] * len(texts)
        shares = []
        for text in texts:
            text = self._lexicon.expand(text)
            present = set(WORD.findall(text.lower()))  # stop words are never wanted
            if codes:
                present |= all_codes(text)
            shares.append(sum(w for token, w in weights.items() if token in present) / total)
        return shares

    def search(self, query: str, k: int, doc_type: str | None = None,
               hidden: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first, optionally of one document type, never of a
        ``hidden`` file (left out before the top k is taken, so that a reader's k are all
        of documents they may read)."""
        loaded = self._current()
        if loaded.model is None:
            return []
        vocab = loaded.model.vocab_dict
        tokens = [t for t in query_tokens(self._lexicon.expand(query)) if t in vocab]
        if not tokens:
            return []
        scores = loaded.model.get_scores(tokens)
        if doc_type is not None:
            scores = np.where(loaded.types == doc_type, scores, 0.0)
        if (shown := loaded.shown(hidden)) is not None:
            scores = np.where(shown, scores, 0.0)
        top = np.argsort(-scores)[:k]
        return [(loaded.ids[i], float(scores[i])) for i in top if scores[i] > 0]
