"""OCR of scanned (image-only) PDF pages, offline.

RapidOCR's ONNX models (PP-OCRv4 detection + recognition) ship inside the
``rapidocr-onnxruntime`` wheel, so the offline bundle covers them; nothing is
downloaded. The page is rendered with PDFium, then read line by line in
reading order. Slow on a CPU (seconds per page), so only pages without a
text layer that do carry an image are read this way, and their chunks are
marked as OCR text.
"""

from __future__ import annotations

import functools
import re
import threading
from pathlib import Path
from typing import Any

from ingest.settings import OcrSettings

# A run of letters this long that is no English word is read as words run together.
_JOINED = re.compile(r"[A-Za-z]{8,}")


@functools.lru_cache(maxsize=1)
def _segmenter() -> Any:
    """SymSpell with its English frequency dictionary (shipped inside the symspellpy wheel),
    for word segmentation only (edit distance 0: it splits, it never respells)."""
    from importlib import resources

    from symspellpy import SymSpell

    segmenter = SymSpell(max_dictionary_edit_distance=0, prefix_length=7)
    words = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    segmenter.load_dictionary(str(words), term_index=0, count_index=1)
    return segmenter


def split_joined_words(text: str) -> str:
    """OCR text with the spaces the recogniser dropped put back: "limitalarm" -> "limit
    alarm", "Couldnotfindlimitswitch" -> "Could not find limit switch". Only runs of eight
    letters or more that are not words themselves are touched, and only when every piece is
    a dictionary word; everything else — punctuation, numbers, codes like ALARM:2, words the
    dictionary lacks — stays as recognised."""
    segmenter = _segmenter()
    known = segmenter.words

    def split(match: re.Match[str]) -> str:
        run = match.group(0)
        if run.lower() in known:
            return run
        pieces = segmenter.word_segmentation(run, max_edit_distance=0).corrected_string.split()
        if len(pieces) > 1 and all(p.lower() in known for p in pieces):
            return " ".join(pieces)
        return run

    return _JOINED.sub(split, text)


class PageOcr:
    def __init__(self, settings: OcrSettings) -> None:
        self._settings = settings
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    @property
    def recipe(self) -> str:
        return self._settings.recipe()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR  # onnxruntime + models: on first use

                self._engine = RapidOCR(intra_op_num_threads=self._settings.threads,
                                        inter_op_num_threads=1)
            return self._engine

    def read_page(self, pdf: Path, page_index: int) -> str:
        """The text of one page (0-based), lines in reading order; '' when none is found."""
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(str(pdf))
        try:
            image = document[page_index].render(scale=self._settings.render_scale).to_numpy()
        finally:
            document.close()
        result, _ = self._load()(image)
        lines = [(box, text, score) for box, text, score in (result or [])
                 if float(score) >= self._settings.min_confidence]
        # top-to-bottom, then left-to-right, by each box's top-left corner
        lines.sort(key=lambda line: (round(line[0][0][1] / 12), line[0][0][0]))
        text = "\n".join(text for _, text, _ in lines)
        return split_joined_words(text) if self._settings.split_joined_words else text
