"""Previews and download copies of versions no longer indexed are deleted at UI start."""

from pathlib import Path

from app.preview import PagePreviews
from app.ui.sources import prune_downloads
from ingest.originals import OriginalStore


def test_previews_and_downloads_of_dropped_versions_are_pruned(tmp_path: Path) -> None:
    previews = PagePreviews(OriginalStore(tmp_path / "originals"), tmp_path / "previews")
    for name in ("live-1.png", "live-12.png", "old-1.png", "old-3.partial.png"):
        (tmp_path / "previews" / name).write_bytes(b"png")
    downloads = tmp_path / "downloads"
    for version in ("live", "old"):
        (downloads / version).mkdir(parents=True)
        (downloads / version / "manual.pdf").write_bytes(b"%PDF")

    assert previews.prune({"live"}) == 2
    assert prune_downloads(downloads, {"live"}) == 1

    assert sorted(p.name for p in (tmp_path / "previews").iterdir()) == ["live-1.png",
                                                                        "live-12.png"]
    assert [p.name for p in downloads.iterdir()] == ["live"]
