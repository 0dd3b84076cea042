"""Scanned manuals: make an image-only copy of PDFs, and measure OCR against the text layer.

    # 1. a "scanned" copy: every page rendered at 150 dpi, slightly rotated and noisy, wrapped
    #    as an image-only PDF under the same name (the eval's gold pages stay valid)
    .venv/bin/python -m benchmarks.scanned make ../shared/corpus/manuals --out /tmp/scanned
    # 2. OCR quality and speed per file: word error rate of the OCR text against the PDF's own
    #    text layer, seconds per page on one core, characters per second; then the same pages
    #    read as ingest reads them (ingest.ocr.threads pages at once), pages per second
    .venv/bin/python -m benchmarks.scanned quality ../shared/corpus/manuals --pages 2
    # 3. retrieval on the scanned copy against the digital one (slow: every page is OCRed)
    .venv/bin/plantops --data-dir /tmp/scan ingest /tmp/scanned ../shared/corpus/logs
    .venv/bin/plantops --data-dir /tmp/scan eval ../shared/eval/dev.jsonl \\
        ../shared/eval/confirm.jsonl
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time
from pathlib import Path

import jiwer
import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from pypdf import PdfReader

from ingest.ocr import PageOcr
from ingest.settings import OcrSettings
from ingest.sources import tidy_pdf_text


def scan_page(image: Image.Image, rng: random.Random, rotate: float, noise: float
              ) -> Image.Image:
    """A page as a scanner returns it: grey, a little askew, a little noisy."""
    page = image.convert("L")
    if rotate:
        page = page.rotate(rng.uniform(-rotate, rotate), expand=False, fillcolor=255,
                           resample=Image.Resampling.BICUBIC)
    if noise:
        speckle = Image.effect_noise(page.size, noise * 255).filter(ImageFilter.MedianFilter(3))
        page = Image.blend(page, speckle, noise / 4)
    return page


def make_scanned(pdf: Path, out: Path, dpi: int, rotate: float, noise: float,
                 seed: int = 0) -> int:
    """``pdf`` rendered page by page into an image-only PDF at ``out``; returns pages."""
    rng = random.Random(f"{seed}:{pdf.name}")
    document = pdfium.PdfDocument(str(pdf))
    try:
        pages = [scan_page(page.render(scale=dpi / 72).to_pil(), rng, rotate, noise)
                 for page in document]
    finally:
        document.close()
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=dpi)
    return len(pages)


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def quality(pdf: Path, pages: int, dpi: int, settings: OcrSettings
            ) -> tuple[list[tuple[str, float, float, int]], float]:
    """Per page: (file:page, WER, seconds, characters) read one at a time; and the seconds
    the same pages took read as ingest reads them (``threads`` at once)."""
    reader = PdfReader(pdf)
    ocr = PageOcr(settings)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scanned = Path(folder) / pdf.name
        make_scanned(pdf, scanned, dpi, rotate=0.5, noise=0.1)
        read = []
        for index in range(min(pages, len(reader.pages))):
            truth = words(tidy_pdf_text(reader.pages[index].extract_text() or ""))
            if not truth:
                continue
            read.append(index)
            started = time.perf_counter()
            text = ocr.read_page(scanned, index)
            seconds = time.perf_counter() - started
            rows.append((f"{pdf.name}:{index + 1}", jiwer.wer(truth, words(text) or "-"),
                         seconds, len(text)))
        started = time.perf_counter()
        list(ocr.read_pages(scanned, read))
        together = time.perf_counter() - started
    return rows, together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make")
    make.add_argument("folders", type=Path, nargs="+")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--dpi", type=int, default=150)
    make.add_argument("--rotate", type=float, default=0.5, help="degrees, at most, either way")
    make.add_argument("--noise", type=float, default=0.1)
    measure = sub.add_parser("quality")
    measure.add_argument("folders", type=Path, nargs="+")
    measure.add_argument("--pages", type=int, default=2, help="first pages of each file")
    measure.add_argument("--dpi", type=int, default=150)
    measure.add_argument("--layout", type=int, default=OcrSettings().page_layout,
                         help="Tesseract page segmentation mode (ingest.ocr.page_layout)")
    measure.add_argument("--scale", type=float, default=OcrSettings().render_scale,
                         help="page rendering scale (ingest.ocr.render_scale)")
    args = parser.parse_args()
    pdfs = sorted(p for folder in args.folders for p in folder.glob("*.pdf"))
    if args.command == "make":
        args.out.mkdir(parents=True, exist_ok=True)
        for pdf in pdfs:
            count = make_scanned(pdf, args.out / pdf.name, args.dpi, args.rotate, args.noise)
            print(f"{pdf.name}: {count} pages")
        return
    settings = OcrSettings(page_layout=args.layout, render_scale=args.scale)
    rows: list[tuple[str, float, float, int]] = []
    together = 0.0
    for pdf in pdfs:
        file_rows, seconds = quality(pdf, args.pages, args.dpi, settings)
        rows += file_rows
        together += seconds
    print(f"{'page':<58} {'WER':>6} {'s/page':>7} {'chars/s':>8}")
    for name, wer, seconds, chars in rows:
        print(f"{name:<58} {wer:6.3f} {seconds:7.2f} {chars / seconds:8.0f}")
    print("\nper file (mean of its pages; seconds one page at a time)")
    for pdf in pdfs:
        summary(pdf.name, [r for r in rows if r[0].rsplit(":", 1)[0] == pdf.name])
    summary("all files", rows)
    alone = sum(r[2] for r in rows)
    print(f"\nread as ingest reads them ({settings.threads or os.cpu_count()} at once): "
          f"{together / len(rows):.2f} s/page, {alone / together:.2f}x one at a time")


def summary(name: str, rows: list[tuple[str, float, float, int]]) -> None:
    if not rows:
        return
    n, seconds = len(rows), sum(r[2] for r in rows)
    print(f"{name + f' ({n} pages)':<58} {sum(r[1] for r in rows) / n:6.3f} "
          f"{seconds / n:7.2f} {sum(r[3] for r in rows) / seconds:8.0f}")


if __name__ == "__main__":
    main()
