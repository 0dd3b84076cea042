"""BM25 is rebuilt by ingest while the UI answers questions: readers must never mix two
versions (ids of one with scores of the other name the wrong chunks, or fail)."""

import threading
from pathlib import Path

from ingest.contract import Chunk, DocType
from ingest.lexical import LexicalIndex


def _version(n: int, word: str) -> list[Chunk]:
    return [Chunk(text=f"{word} pump seal {i}", file=f"{word}.csv", file_sha256=word,
                  doc_type=DocType.LOG if i % 2 else DocType.MANUAL, chunk_index=i,
                  record_id=str(i)) for i in range(n)]


def test_searches_during_rebuilds_see_one_whole_version(tmp_path: Path) -> None:
    small, large = _version(50, "alpha"), _version(400, "beta")
    valid = {"alpha": {c.id for c in small}, "beta": {c.id for c in large}}
    index = LexicalIndex(tmp_path / "lexical")
    index.rebuild(small, "v0")
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask(word: str) -> None:
        while not stop.is_set():
            try:
                for chunk_id, _ in index.search(f"{word} pump seal", 20, doc_type="log"):
                    # ids read from one version with scores of another fail or go astray
                    assert chunk_id in valid["alpha"] | valid["beta"]
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
                return

    readers = [threading.Thread(target=ask, args=(w,)) for w in ("alpha", "beta") * 2]
    for reader in readers:
        reader.start()
    for i in range(40):
        index.rebuild(large if i % 2 == 0 else small, f"v{i + 1}")
    stop.set()
    for reader in readers:
        reader.join()

    assert errors == []
    assert {i for i, _ in index.search("alpha pump", 5)} <= valid["alpha"]
