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


def test_a_refresh_reads_only_new_chunks_and_writes_what_a_rebuild_would(
        tmp_path: Path) -> None:
    """A work order confirmed in the UI adds one chunk to thousands: the process that wrote
    the index reads and tokenises that one (1.9 s -> 0.4 s at 13,000 chunks), and the index it
    writes is the one a rebuild from every chunk writes, removals included."""
    before = _version(30, "alpha") + _version(5, "beta")
    stored = {c.id: c for c in before}
    asked: list[list[str]] = []

    def read(ids):  # type: ignore[no-untyped-def]  # the index's records(ids), counted
        asked.append(list(ids))
        return [stored[i] for i in ids if i in stored]

    index = LexicalIndex(tmp_path / "refreshed")
    index.refresh(list(stored), read, "v0")
    new = Chunk(text="gamma pump seal leaking", file="gamma.csv", file_sha256="g",
                doc_type=DocType.LOG, chunk_index=0, record_id="g1")
    stored[new.id] = new
    for chunk in _version(5, "beta"):  # a file removed
        del stored[chunk.id]
    index.refresh(list(stored), read, "v1")
    assert asked[1:] == [[new.id]]

    rebuilt = LexicalIndex(tmp_path / "rebuilt")
    rebuilt.rebuild(list(stored.values()), "v1")
    for query in ("gamma pump seal", "beta pump", "alpha seal 7"):
        assert index.search(query, 50) == rebuilt.search(query, 50), query
    assert all(i in stored for i, _ in index.search("beta pump seal", 50))
    assert index.document_frequency("gamma") == 1 and index.document_frequency("beta") == 0
