"""Previews of versions no longer indexed are deleted at UI start."""

from pathlib import Path

from app.answer.preview import PagePreviews
from ingest.originals import OriginalStore


def test_previews_of_dropped_versions_are_pruned(tmp_path: Path) -> None:
    previews = PagePreviews(OriginalStore(tmp_path / "originals"), tmp_path / "previews")
    for name in ("live-1.png", "live-12.png", "old-1.png", "old-3.partial.png"):
        (tmp_path / "previews" / name).write_bytes(b"png")

    assert previews.prune({"live"}) == 2

    assert sorted(p.name for p in (tmp_path / "previews").iterdir()) == ["live-1.png",
                                                                        "live-12.png"]
