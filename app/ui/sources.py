"""Opening a source: the page image and the passage beside it."""

from __future__ import annotations

from app.answer.answering import source_label
from app.answer.preview import PagePreviews, PreviewError
from app.answer.rendering import escape_text
from ingest.contract import Chunk


def source_view(previews: PagePreviews, chunk: Chunk,
                highlight: str | None = None) -> tuple[str | None, str]:
    """(page image path or None, Markdown of the passage). PDFs show their page, with the
    quoted sentence `highlight` marked; work orders and Markdown sections show their whole
    record / section text."""
    lines = [f"**{escape_text(source_label(chunk))}**"]
    if chunk.section:
        lines.append(f"Section: {escape_text(chunk.section)}")
    if chunk.date:
        lines.append(f"Date: {chunk.date}")
    image = None
    if chunk.page is not None:
        try:
            image = str(previews.page_image(chunk.file, chunk.file_sha256, chunk.page,
                                            highlight))
        except PreviewError as exc:
            lines.append(f"_No page preview: {escape_text(str(exc))}_")
    passage = "\n".join(f"> {escape_text(line)}" if line.strip() else ">"
                        for line in chunk.text.splitlines())
    if highlight:
        lines.append(f"Quoted in the answer (marked on the page): **{escape_text(highlight)}**")
    return image, "\n\n".join([*lines, passage])
