"""OCR of scanned (image-only) PDF pages, offline.

RapidOCR's ONNX models (PP-OCRv4 detection + recognition) ship inside the
``rapidocr-onnxruntime`` wheel, so the offline bundle covers them; nothing is
downloaded. The page is rendered with PDFium, then read line by line in
reading order. Slow on a CPU (seconds per page), so only pages without a
text layer that do carry an image are read this way, and their chunks are
marked as OCR text.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ingest.settings import OcrSettings


class PageOcr:
    def __init__(self, settings: OcrSettings) -> None:
        self._settings = settings
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

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
        return "\n".join(text for _, text, _ in lines)
