"""Page previews: the cited PDF page rendered to an image, from the indexed version.

Rendered once per (file version, page) with PDFium and cached as PNG beside
the index; previews never read the network or the source folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingest.originals import OriginalStore, prune_versions

_SCALE = 1.5  # 108 dpi: legible on a console screen, ~150-300 KB a page


class PreviewError(RuntimeError):
    """The page cannot be shown; the message says why and what to do."""


class PagePreviews:
    def __init__(self, originals: OriginalStore, cache: Path) -> None:
        self._originals = originals
        self._cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def prune(self, keep: set[str]) -> int:
        """Delete the previews of versions no longer indexed (their originals are gone too);
        returns how many. Run at start: a plant that revises manuals would keep every
        page anyone ever opened of every revision."""
        return prune_versions(self._cache.glob("*.png"), keep,
                              lambda path: path.name.split("-", 1)[0])  # "<sha256>-<page>.png"

    def page_image(self, file: str, sha256: str, page: int) -> Path:
        """PNG of 1-based `page` of the kept original of `file` at version `sha256`."""
        target = self._cache / f"{sha256}-{page}.png"
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
            image = pdf[page - 1].render(scale=_SCALE).to_pil()
        finally:
            pdf.close()
        partial = target.with_suffix(".partial.png")
        image.save(partial, format="PNG", optimize=True)
        os.replace(partial, target)
        return target
