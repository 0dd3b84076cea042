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

# Bump when how recognised text is put together changes: scanned files are then read again.
OCR_FORMAT = "2"
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


def rows_of(boxes: list[tuple[Any, str]]) -> list[str]:
    """Recognised text boxes as lines of the page, top to bottom: boxes whose vertical middles
    lie within half a line's height of each other are one row, read left to right and joined
    by a space — so a table row ("2", "Soft limit", "Soft limit alarm…") stays one line, as the
    text layer of a born-digital page has it, and a code keeps its meaning beside it."""
    placed = sorted(((sum(p[1] for p in box) / 4, min(p[0] for p in box),
                      max(p[1] for p in box) - min(p[1] for p in box), text)
                     for box, text in boxes))
    rows: list[list[tuple[float, float, float, str]]] = []
    for middle, left, height, text in placed:
        if rows and abs(middle - rows[-1][0][0]) < max(height, rows[-1][0][2]) / 2:
            rows[-1].append((middle, left, height, text))
        else:
            rows.append([(middle, left, height, text)])
    return [" ".join(text for _, _, _, text in sorted(row, key=lambda cell: cell[1]))
            for row in rows]


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
        return f"{OCR_FORMAT}:{self._settings.recipe()}"

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
        boxes = [(box, text) for box, text, score in (result or [])
                 if float(score) >= self._settings.min_confidence]
        text = "\n".join(rows_of(boxes))
        return split_joined_words(text) if self._settings.split_joined_words else text
