"""A pixel budget for every page render (OCR, previews, highlights), checked before PDFium
decodes anything: the page's own size at the render scale, and the size each image on it
declares in its dictionary (/Width, /Height). A 4.7 MB PDF holding one 20000 x 20000 image
took 3.3 GB in `plantops ingest` and 4 GB in the UI when it was rendered first and refused
after; here it is refused by name, in milliseconds, before any pixel is decoded.
"""

from __future__ import annotations

from typing import Any

# Pillow's own decompression-bomb limit: a 600 dpi A4 scan is 35 Mpx, an A0 drawing at
# 200 dpi 62 Mpx; 89.5 Mpx of RGBA is ~360 MB, which a shared plant server can spare.
DEFAULT_MAX_MEGAPIXELS = 89.5


class ImageTooLarge(ValueError):
    """A page or an image on it is over the budget; the message names the size and the
    limit, and the setting that changes it."""


def check_page(page: Any, scale: float, max_megapixels: float, number: int) -> None:
    """Raise ImageTooLarge when rendering PDFium ``page`` (1-based ``number``) at ``scale``
    would exceed ``max_megapixels``, for the page itself or for any image it draws."""
    import pypdfium2.raw as pdfium_c

    limit = int(max_megapixels * 1_000_000)
    width, height = page.get_size()
    shown = (round(width * scale), round(height * scale))
    sizes = [("page", shown)]
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        try:
            sizes.append(("an image", image.get_px_size()))
        except Exception:  # noqa: BLE001 (no size declared: PDFium decodes it bounded by the page)
            continue
    for what, (w, h) in sizes:
        if w * h > limit:
            raise ImageTooLarge(
                f"page {number}: image too large ({w}×{h} px, {what}; limit "
                f"{max_megapixels:g} Mpx, ingest.max_image_megapixels) — not rendered")
