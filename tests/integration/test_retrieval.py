"""Ranking rules of app.retrieval on a small real index (real Chroma, real embeddings)."""

from pathlib import Path

from tests import factories
from tests.conftest import make_services, make_settings

# One long page whose every paragraph is about the seal: it splits into several chunks.
LONG_SEAL_PAGE = "\n\n".join(
    f"Mechanical seal of pump P-101A, note {i}: the seal flush rate is checked at start-up "
    f"and the seal faces are inspected for wear. " * 3 for i in range(6))


def test_a_page_takes_one_rank_however_many_of_its_chunks_match(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "pump.pdf", [
        LONG_SEAL_PAGE,
        "Seal replacement on the pump: drain the casing, then fit the new seal.",
        "Seal flush piping: keep the flush line clear.",
    ])
    services = make_services(make_settings(tmp_path / "data"), embedder)
    services.ingestor.ingest([docs])
    assert len(services.index.ids_for_file("pump.pdf")) > 4  # page 1 is several chunks

    hits = services.retriever.retrieve("pump seal flush", k=3)

    assert sorted(h.chunk.page for h in hits) == [1, 2, 3]


def test_only_identifiers_are_boosted_not_generic_device_words(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Work orders that name an e-stop must not push out the manual page that answers a
    question about e-stops; a work order naming the asked-about machine must come first."""
    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "guarding.pdf", [
        "Emergency stop devices such as rope pulls are not a safeguard: they do not "
        "prevent contact with the hazard, they only stop the machine once pulled."])
    rows = ["work_order_id,description"] + [
        f"wo-{i},BF0{i}9 REPLACE E-STOP ROPE PULL SWITCH" for i in range(1, 9)]
    rows.append("wo-99,XH531 REPAIR STEERING")
    (docs / "wo.csv").write_text("\n".join(rows) + "\n")
    services = make_services(make_settings(tmp_path / "data"), embedder)
    services.ingestor.ingest([docs])

    hits = services.retriever.retrieve("is an e-stop rope pull a safeguard?", k=3)
    assert "guarding.pdf" in [h.chunk.file for h in hits]

    [first, *_] = services.retriever.retrieve("what was done on xh531", k=3)
    assert first.chunk.record_id == "wo-99"
