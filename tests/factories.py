"""Make real input files for tests: PDFs with text, outlines, passwords, scans."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter


def text_pdf(path: Path, pages: list[str], titles: list[str] | None = None) -> Path:
    """A PDF with one string per page; ``titles`` adds an outline entry per page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for i, text in enumerate(pages):
        pdf.add_page()
        if titles:
            pdf.start_section(titles[i])
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def glossary_pdf(path: Path, pages: list[list[tuple[str, str]]]) -> Path:
    """A PDF whose pages hold several (outline title, text) entries, like a glossary that
    has an outline entry per term."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for entries in pages:
        pdf.add_page()
        for title, text in entries:
            pdf.start_section(title)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def encrypted_pdf(path: Path, source: Path, user_password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _scanned_pdf(path: Path, tmp: Path, width: int, font_size: int, step: int,
                 columns: list[tuple[int, Sequence[str]]]) -> Path:
    """A 'scanned' page: printed lines, in columns starting at the given x, as an image in a
    PDF with no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    image = tmp / f"{path.stem}-scan.png"
    rows = max(len(lines) for _, lines in columns)
    canvas = Image.new("RGB", (width, 120 + step * rows), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=font_size)
    for x, lines in columns:
        for i, line in enumerate(lines):
            draw.text((x, 60 + step * i), line, fill="black", font=font)
    canvas.save(image)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(image), x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def image_only_pdf(path: Path, tmp: Path, lines: tuple[str, ...] = (
        "Pump P-101A seal replacement", "Isolate and drain before opening")) -> Path:
    """A 'scanned' page: an image of printed lines and no text layer."""
    return _scanned_pdf(path, tmp, 1400, 48, 90, [(60, lines)])


GLOSSARY_LEFT = ["Thermoswitch. An electrical switch that",
                 "closes a circuit when it is exposed to",
                 "a specified high temperature in the oil",
                 "cooler of the engine when it runs hot."]
GLOSSARY_RIGHT = ["Torque. A force that produces or tries",
                  "to produce rotation about an axis of",
                  "the shaft, measured in foot pounds and",
                  "read on a calibrated torque wrench."]


def two_column_scan(path: Path, tmp: Path, left: list[str] = GLOSSARY_LEFT * 3,
                    right: list[str] = GLOSSARY_RIGHT * 3) -> Path:
    """A 'scanned' page set in two columns with a narrow gutter, as glossaries and OSHA guides
    are: an image and no text layer."""
    return _scanned_pdf(path, tmp, 1700, 34, 60, [(60, left), (880, right)])


def truncated(path: Path, source: Path, keep: float = 0.4) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def image_bomb_pdf(path: Path, side: int = 20_000) -> Path:
    """A one-page PDF drawing one ``side`` x ``side`` grey image whose pixels are all zero:
    a few hundred KB on disk (Flate), ``side``² bytes once decoded. Written by hand, since
    making the image with Pillow would itself take that memory."""
    import zlib

    packer = zlib.compressobj(9)
    row = bytes(side)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (side, side, len(data), data),
    ]
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path
