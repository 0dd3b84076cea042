"""Page previews: the cited PDF page rendered to an image, from the indexed version.

Rendered once per (file version, page) with PDFium and cached as PNG beside
the index; previews never read the network or the source folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ingest.originals import OriginalStore, prune_versions
from ingest.pixels import DEFAULT_MAX_MEGAPIXELS, ImageTooLarge, check_page

_SCALE = 1.5  # 108 dpi: legible on a console screen, ~150-300 KB a page


class PreviewError(RuntimeError):
    """The page cannot be shown; the message says why and what to do."""


class PagePreviews:
    def __init__(self, originals: OriginalStore, cache: Path,
                 max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> None:
        self._originals = originals
        self._max_megapixels = max_megapixels
        self._cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def prune(self, keep: set[str]) -> int:
        """Delete the previews of versions no longer indexed (their originals are gone too);
        returns how many. Run at start: a plant that revises manuals would keep every
        page anyone ever opened of every revision."""
        return prune_versions(self._cache.glob("*.png"), keep,
                              lambda path: path.name.split("-", 1)[0])  # "<sha256>-<page>.png"

    def page_image(self, file: str, sha256: str, page: int, highlight: str | None = None) -> Path:
        """PNG of 1-based `page` of the kept original of `file` at version `sha256`, with the
        sentence `highlight` marked where PDFium finds it on the page."""
        key = f"-{hashlib.sha256(highlight.encode()).hexdigest()[:12]}" if highlight else ""
        target = self._cache / f"{sha256}-{page}{key}.png"
        if target.is_file():
            return target
        source = self._originals.path(sha256)
        if not source.is_file():
            raise PreviewError(f"the original of {file} is not kept beside the index; "
                               "ingest the file again to enable page previews")
        import pypdfium2 as pdfium  # PDFium is a native library; load it on first use

        try:
            pdf = pdfium.PdfDocument(str(source))
        except pdfium.PdfiumError as exc:
            raise PreviewError(f"{file} cannot be rendered: {exc}") from exc
        try:
            if not 1 <= page <= len(pdf):
                raise PreviewError(f"{file} has no page {page} (it has {len(pdf)})")
            pdf_page = pdf[page - 1]
            try:
                check_page(pdf_page, _SCALE, self._max_megapixels, page)
            except ImageTooLarge as exc:
                raise PreviewError(f"{file}: {exc}") from exc
            image = pdf_page.render(scale=_SCALE).to_pil()
            if highlight:
                _mark(image, pdf_page.get_height(), _line_boxes(pdf_page, highlight))
        finally:
            pdf.close()
        partial = target.with_suffix(".partial.png")
        image.save(partial, format="PNG", optimize=True)
        os.replace(partial, target)
        return target


def _line_boxes(pdf_page: Any, sentence: str) -> list[tuple[float, float, float, float]]:
    """PDF-space boxes (left, bottom, right, top), one per line, of `sentence` on the page,
    matched with white space folded and case ignored; [] when it is not found (an OCR page
    has no text layer)."""
    textpage = pdf_page.get_textpage()
    text = textpage.get_text_range()
    folded: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        if char.isspace():
            if folded and folded[-1] != " ":
                folded.append(" ")
                where.append(i)
        else:
            folded.append(char.lower())
            where.append(i)
    wanted = " ".join(sentence.lower().split())
    start = "".join(folded).find(wanted)
    if start < 0:
        return []
    lines: list[list[float]] = []
    for j in range(start, start + len(wanted)):
        if folded[j] == " ":
            continue
        left, bottom, right, top = textpage.get_charbox(where[j])
        if lines and abs(lines[-1][1] - bottom) < (top - bottom) / 2 + 1:
            line = lines[-1]
            line[0], line[2] = min(line[0], left), max(line[2], right)
            line[1], line[3] = min(line[1], bottom), max(line[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [(a, b, c, d) for a, b, c, d in lines]


def _mark(image: Any, page_height: float, boxes: list[tuple[float, float, float, float]]) -> None:
    """Yellow marker over each box, drawn on the rendered page."""
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle([left * _SCALE - 2, (page_height - top) * _SCALE - 2,
                        right * _SCALE + 2, (page_height - bottom) * _SCALE + 2],
                       fill=(255, 221, 0, 110))
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))
