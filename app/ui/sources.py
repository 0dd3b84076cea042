"""Opening a source: the page image, the passage beside it, the original for download."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.answering import source_label
from app.preview import PagePreviews, PreviewError
from app.rendering import escape_text
from ingest.contract import Chunk
from ingest.originals import OriginalStore, prune_versions


def source_view(previews: PagePreviews, chunk: Chunk) -> tuple[str | None, str]:
    """(page image path or None, Markdown of the passage). PDFs show their page; work
    orders and Markdown sections show their whole record / section text."""
    lines = [f"**{escape_text(source_label(chunk))}**"]
    if chunk.section:
        lines.append(f"Section: {escape_text(chunk.section)}")
    if chunk.date:
        lines.append(f"Date: {chunk.date}")
    image = None
    if chunk.page is not None:
        try:
            image = str(previews.page_image(chunk.file, chunk.file_sha256, chunk.page))
        except PreviewError as exc:
            lines.append(f"_No page preview: {escape_text(str(exc))}_")
    passage = "\n".join(f"> {escape_text(line)}" if line.strip() else ">"
                        for line in chunk.text.splitlines())
    return image, "\n\n".join([*lines, passage])


def original_for_download(originals: OriginalStore, chunk: Chunk, out_dir: Path) -> str | None:
    """A copy of the indexed original under its own file name, for the browser to save."""
    if not originals.has(chunk.file_sha256):
        return None
    target = out_dir / chunk.file_sha256 / Path(chunk.file).name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(originals.path(chunk.file_sha256), target)
    return str(target)


def prune_downloads(out_dir: Path, keep: set[str]) -> int:
    """Delete the download copies (``<sha256>/<name>``) of versions no longer indexed."""
    return prune_versions(out_dir.glob("*/"), keep)
