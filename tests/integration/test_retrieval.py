"""Ranking rules of app.answer.retrieval on a small real index (real Chroma, real embeddings)."""

from pathlib import Path

from app.answer.evidence import Verdict
from tests import factories
from tests.conftest import copy_index, make_services, make_settings

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


def test_a_page_naming_every_rare_word_is_not_outranked_by_short_near_misses(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """An index page lists "Magneto Timing" among fifty entries; short prose pages say
    "magneto" often but never "timing". BM25 (length-normalised) and the embedding both
    prefer the short pages; ranking candidates by coverage of the question's words puts
    the index page first."""
    from app.settings import RetrievalSettings

    docs = tmp_path / "docs"
    docs.mkdir()
    parts = ["Accessory", "Bearing", "Camshaft", "Carburetor", "Crankshaft", "Cylinder",
             "Exhaust", "Filter", "Gasket", "Governor", "Ignition", "Injector", "Intake",
             "Manifold", "Piston", "Propeller", "Pump", "Rocker", "Seal", "Starter",
             "Supercharger", "Turbine", "Valve", "Vane"]
    entries = [f"{part} {task} ........ {i % 12 + 1}-{i % 40 + 1}"
               for i, (part, task) in enumerate((p, t) for p in parts
                                                for t in ("Inspection", "Overhaul"))]
    entries.insert(20, "Magneto Timing ........ 4-22")
    factories.text_pdf(docs / "handbook_index.pdf", ["\n".join(entries)])
    factories.text_pdf(docs / "magneto_manual.pdf", [
        "The magneto generates the ignition spark. A magneto has a rotating magnet and coils.",
        "Magneto maintenance: keep the magneto clean and dry; check the magneto points.",
        "Magneto removal: disconnect the magneto leads before removing the magneto."])

    def first(coverage_weight: float) -> str:
        settings = make_settings(tmp_path / f"data-{coverage_weight}", retrieval=RetrievalSettings(
            coverage_weight=coverage_weight, rerank_depth=0))  # the fused order alone
        services = make_services(settings, embedder)
        services.ingestor.ingest([docs])
        return services.retriever.retrieve("which page covers magneto timing", k=4)[0].chunk.file

    assert first(0.0) == "magneto_manual.pdf"  # the case this ranking exists for
    assert first(1.0) == "handbook_index.pdf"


def test_the_top_units_are_ordered_by_their_evidence_not_only_their_fused_ranks(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Fusion gives the best work order the same credit as the best manual page, so a
    work order that merely names the word ("... LIFT CREEP") can come first. Ordered by
    similarity + coverage, the glossary entry that defines it comes first."""
    from app.settings import RetrievalSettings

    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "glossary.pdf", [
        "Cowling. The removable cover that encloses an aircraft engine.\n"
        "Creep. The permanent elongation of turbine blades caused by heat and the "
        "centrifugal force of rotation.\n"
        "Crankcase. The housing that encloses the crankshaft and the accessory drive gears.",
        "Turbine. A turbine wheel is turned by the hot gases; the turbine drives the "
        "compressor. Turbine inspection: look at the turbine blades for cracks."])
    (docs / "wo.csv").write_text("work_order_id,description\n"
                                 "wo-1,MB119 REPAIR BOOM LIFT CREEP\n"
                                 "wo-2,XH531 REPAIR STEERING\n"
                                 "wo-3,CC708 A/C BLOWING WARM AIR\n")

    def first(depth: int) -> str:
        settings = make_settings(tmp_path / f"data-{depth}",
                                 retrieval=RetrievalSettings(rerank_depth=depth))
        services = make_services(settings, embedder)
        services.ingestor.ingest([docs])
        return services.retriever.retrieve("define creep in turbine blades", k=3)[0].chunk.file

    assert first(0) == "wo.csv"  # the case the evidence order exists for
    assert first(10) == "glossary.pdf"


def test_warm_up_reads_the_whole_on_disk_index_and_answers(
        tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """`plantops ui` warms up in the background: with a cold page cache the first queries
    at 100k chunks took half as long again."""
    docs = tmp_path / "docs"
    docs.mkdir()
    factories.text_pdf(docs / "pump.pdf", [LONG_SEAL_PAGE])
    services = make_services(make_settings(tmp_path / "data"), embedder)
    services.ingestor.ingest([docs])
    on_disk = sum(f.stat().st_size for f in (tmp_path / "data" / "chroma").rglob("*")
                  if f.is_file())

    assert services.index.read_into_page_cache() == on_disk > 0
    services.retriever.warm_up()
    assert services.retriever.retrieve("pump seal flush", k=1)[0].chunk.file == "pump.pdf"


def test_a_follow_up_is_not_found_for_what_it_names_not_for_the_question_before(
        tmp_path: Path, samples_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Found by the work-order browser test: after "what torque do the M20 liner bolts …?"
    (not found: no document names M20), the next question of the incident, "how do I clear a
    jam in a mechanical power press?", was read with it and said "The documents do not
    mention M20"."""
    from app.answer.answering import condense_question

    services = make_services(make_settings(copy_index(samples_index, tmp_path / "data")),
                             embedder)
    retriever = services.retriever
    before = "What torque do the M20 liner bolts of the SAG mill take?"
    assert not retriever.evidence(before, retriever.retrieve(before)).answerable
    asked = "How do I clear a jam in a mechanical power press?"
    question = condense_question(asked, [before])
    hits = retriever.retrieve(question)
    assert not retriever.evidence(question, hits).answerable  # read whole, it names M20
    found = retriever.evidence(question, hits, asked=asked)
    assert found.answerable, found
    # a follow-up that names an unknown thing itself is still not found for it
    again = "and for the M27 ones?"
    assert not retriever.evidence(condense_question(again, [before]),
                                  hits, asked=again).answerable


def test_a_named_code_brings_its_row_however_many_other_words_the_question_has(
        tmp_path: Path, samples_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Issue 29, dev m001: "alm1 mid job, gantry ran into the end switch…" did not reach the
    grbl alarm table (a long chunk, where BM25 weighs the one rare token alarm:1 lightly,
    while "gantry", "end" and "switch" fill the candidate lists), so the identifier boost had
    nothing to lift. The table's row for alarm 1 is now a candidate whatever else the
    question says, and quoting it is whole evidence: answered, not weak or not found."""
    from app.settings import RetrievalSettings

    settings = make_settings(copy_index(samples_index, tmp_path / "data"),
                             retrieval=RetrievalSettings(candidates=3))  # a large index's 30
    retriever = make_services(settings, embedder).retriever
    question = ("alm1 mid job, gantry ran into the end switch. can i just $X and carry on "
                "or do i need to rehome")
    hits = retriever.retrieve(question)
    assert (hits[0].chunk.file, hits[0].chunk.page) == ("grbl_alarm_and_error_codes.pdf", 1)
    [(_, row)] = retriever.named_rows(question, hits)
    assert row.startswith("1 Hard limit") and "Re-homing is highly recommended" in row
    assert retriever.evidence(question, hits).verdict is Verdict.ANSWER
    # a code the table does not list is still not in the documents
    unlisted = question.replace("alm1", "alm14")
    assert not retriever.evidence(unlisted, retriever.retrieve(unlisted)).answerable
