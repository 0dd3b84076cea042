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
from string import ascii_uppercase
from typing import Any

import numpy as np

from ingest.settings import OcrSettings

# Bump when how recognised text is put together changes: scanned files are then read again.
OCR_FORMAT = "5"
# A run of letters this long that is no English word is read as words run together.
_JOINED = re.compile(r"[A-Za-z]{8,}")
# The space OCR drops after a sentence's full stop or a comma ("travel.Machine",
# "circuit,when"); not inside numbers, addresses or codes ("1,000", "www.osha.gov", "v1.1").
_PUNCTUATION = re.compile(r"(?<=[a-z]{2})([.,;](?=[A-Z][a-z-])|[,;](?=[a-z]{2}))")
# A run's parts by case: capitals and the lower-case letters after them ("Short", "GND",
# "OSHArecognizes" - split further by the dictionary), or lower-case letters.
_CASE_PARTS = re.compile(r"[A-Z]+[a-z]*|[a-z]+")


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
    alarm", "Couldnotfindlimitswitch" -> "Could not find limit switch", "OSHArecognizesthe" ->
    "OSHA recognizes the". A run of eight letters or more that is no English word is cut where
    its case changes (an acronym stays whole), and each lower-case part that is no word is
    split, only when every piece is a dictionary word. Runs with nothing to split stay as read
    — CamelCase names ("ShortToGND", "StallGuard"), codes like ALARM:2, numbers, words the
    dictionary lacks. The space after a full stop or comma goes back too ("travel.Machine"),
    so quoted sentences end where they do on the page."""
    segmenter = _segmenter()
    known = segmenter.words

    def pieces(part: str) -> list[str] | None:
        """``part`` as dictionary words, when it is words run together; else None."""
        if len(part) < 8 or part.lower() in known:
            return None
        words = segmenter.word_segmentation(part, max_edit_distance=0).corrected_string.split()
        if len(words) > 1 and all(w.lower() in known for w in words):
            return words
        return None

    def parts(run: str) -> tuple[list[str], bool]:
        """The run cut where its case changes, and whether an acronym was glued to a
        lower-case word ("OSHArecognizes", "FADECschedules"): CamelCase names never are."""
        out: list[str] = []
        glued = False
        for chunk in _CASE_PARTS.findall(run):
            caps = len(chunk) - len(chunk.lstrip(ascii_uppercase))
            lower = chunk[caps:]
            if caps >= 2 and not lower and out and out[-1].islower():
                glued = True  # "theEICAS"
            if caps < 2 or not lower:
                out.append(chunk)
            elif lower.lower() in known or pieces(lower):  # "OSHA" + "recognizesthe…"
                out += [chunk[:caps], lower]
                glued = True
            elif chunk[caps - 1:].lower() in known or pieces(chunk[caps - 1:]):
                out += [chunk[:caps - 1], chunk[caps - 1:]]  # "OSHA" + "Publication"
            else:
                out.append(chunk)
        return out, glued

    def split(match: re.Match[str]) -> str:
        run = match.group(0)
        if run.lower() in known:
            return run
        cut, glued = parts(run)
        words = [pieces(part) for part in cut]
        if not glued and not any(words):
            return run
        return " ".join(" ".join(w) if w else part for part, w in zip(cut, words, strict=True))

    return _PUNCTUATION.sub(r"\1 ", _JOINED.sub(split, text))


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


# Page layout, on the rendered page: a dark pixel is ink.
_INK_LEVEL = 160
_MIN_GUTTER = 0.008  # a gap between columns is at least this share of the page's width ...
_GUTTER_INK = 0.05  # ... and ink crosses it on at most this share of the page's text rows
_MIN_COLUMN = 0.2  # text columns are at least this share of the text's width (table cells are not)
_MIN_SPANNING = 0.006  # a heading or figure across the columns: at least this share of the height
_SLIVER = 0.03  # ink narrower than this share of the text's width is no column
_FULL_LINE = 0.6  # a line of running text spans at least this share of its column ...
_FULL_SHARE = 0.5  # ... and at least this share of a text column's lines do
_GUTTER_BAND = 6  # pixels either side of the cut between columns where crossing ink is looked for
_CROSSING = 0.25  # a row crosses the cut when ink covers this share of that band


def _runs(flags: np.ndarray, min_width: int) -> list[tuple[int, int]]:
    """[start, end) of the runs of True at least ``min_width`` long."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= min_width]


def _full_lines(ink: np.ndarray) -> float:
    """The share of the text lines in ``ink`` (one column) that run across most of it, as the
    lines of running text do and a table's cells mostly do not."""
    rows = ink.any(axis=1)
    lines = _runs(rows, 2)
    if not lines:
        return 0.0
    full = 0
    for top, bottom in lines:
        xs = np.nonzero(ink[top:bottom].any(axis=0))[0]
        full += xs[-1] - xs[0] + 1 >= _FULL_LINE * ink.shape[1]
    return full / len(lines)


def text_columns(ink: np.ndarray) -> list[tuple[int, int]]:
    """The [left, right) x-ranges of a page's text columns, left to right, that together cover
    the page; one range for a one-column page. Columns are split by vertical gaps that ink
    crosses only on a few rows (a heading across both columns); a sliver of ink inside a gap
    (a figure's edge, a ragged line end) is part of the gap. Each column must be wide and hold
    running text — lines across most of it: the columns of a table ("2 | Soft limit | Soft
    limit alarm…") are one column, so its rows stay rows."""
    height, width = ink.shape
    inked = np.nonzero(ink.any(axis=0))[0]
    if len(inked) == 0:
        return [(0, width)]
    left, right = int(inked[0]), int(inked[-1]) + 1
    text_rows = max(int(ink.any(axis=1).sum()), 1)
    quiet = ink[:, left:right].sum(axis=0) <= _GUTTER_INK * text_rows
    spans = [(left + a, left + b) for a, b in _runs(quiet, 1)]
    columns: list[tuple[int, int]] = []  # the ink between quiet spans of a gutter's width
    start = left
    for a, b in [*spans, (right, right)]:
        if b - a >= _MIN_GUTTER * width or a == right:
            if a - start >= _SLIVER * (right - left):  # else a sliver, part of the gap
                columns.append((start, a))
            start = b
    # a narrow run of ink after a column is part of it (an index's page numbers); a narrow
    # first column is a table's code column: the page is one column
    if len(columns) < 2 or columns[0][1] - columns[0][0] < _MIN_COLUMN * (right - left):
        return [(0, width)]
    merged: list[tuple[int, int]] = []
    for a, b in columns:
        if merged and b - a < _MIN_COLUMN * (right - left):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    columns = merged
    if len(columns) < 2 or any(_full_lines(ink[:, a:b]) < _FULL_SHARE for a, b in columns):
        return [(0, width)]
    cuts = [0, *[(a_end + b_start) // 2 for (_, a_end), (b_start, _)
                 in zip(columns, columns[1:], strict=False)], width]
    return list(zip(cuts, cuts[1:], strict=False))


def reading_regions(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) parts of a rendered page in reading order. A one-column page
    is one part. On a page of columns each band between full-width elements (a title, a
    heading across the page) is read column by column — left column down, then the right
    one — and the full-width elements in their place; OCR'd whole, two lines beside each
    other are read as one ("…closes a circuitTorque. A force…")."""
    gray = image.mean(axis=2) if image.ndim == 3 else image
    ink = gray < _INK_LEVEL
    height, width = ink.shape
    columns = text_columns(ink)
    if len(columns) < 2:
        return [(0, height, 0, width)] if ink.any() else []
    crossing = np.zeros(height, dtype=bool)
    for _, cut in columns[:-1]:
        band = ink[:, max(0, cut - _GUTTER_BAND):cut + _GUTTER_BAND]
        crossing |= band.mean(axis=1) >= _CROSSING
    regions: list[tuple[int, int, int, int]] = []
    top = 0
    for start, end in [*_runs(crossing, max(2, int(_MIN_SPANNING * height))),
                       (height, height)]:
        if start > top:
            regions += [(top, start, a, b) for a, b in columns]
        if end > start:
            regions.append((start, end, 0, width))
        top = end
    return [(t, b, a, z) for t, b, a, z in regions if ink[t:b, a:z].any()]


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

                # Lines are recognised one at a time: batches are padded to their widest
                # line, which cost 15 % more time on the benchmark pages for no better text.
                self._engine = RapidOCR(intra_op_num_threads=self._settings.threads,
                                        inter_op_num_threads=1, rec_batch_num=1,
                                        det_limit_side_len=self._settings.detection_max_side,
                                        det_limit_type="max")
            return self._engine

    def read_page(self, pdf: Path, page_index: int) -> str:
        """The text of one page (0-based), lines in reading order; '' when none is found."""
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(str(pdf))
        try:
            image = document[page_index].render(scale=self._settings.render_scale).to_numpy()
        finally:
            document.close()
        lines: list[str] = []
        height, width = image.shape[:2]
        regions = (reading_regions(image) if self._settings.columns
                   else [(0, height, 0, width)])
        for top, bottom, left, right in regions:
            part = np.ascontiguousarray(image[top:bottom, left:right])
            result, _ = self._load()(part, use_cls=self._settings.angle_check)
            lines += rows_of([(box, text) for box, text, score in (result or [])
                              if float(score) >= self._settings.min_confidence])
        text = "\n".join(lines)
        return split_joined_words(text) if self._settings.split_joined_words else text
