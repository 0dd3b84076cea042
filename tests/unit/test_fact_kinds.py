"""The kind of value a question asks for, and whether a sentence writes one (issue 29)."""

import pytest

from app.answer.answering import not_found_notice
from app.answer.evidence import Evidence, Verdict
from app.answer.fact_kinds import asked_kind


@pytest.mark.parametrize(("question", "kind"), [
    ("torque spec for M20 grade 8.8 bolts on the crusher liner", "torque value"),
    ("how much deflection should a V-belt have on the 30 hp fan drive", "distance or size"),
    ("What are the shaft alignment tolerances for a 1800 rpm coupling?", "distance or size"),
    ("how often should the boiler bottom blowdown be done each shift", "time or interval"),
    ("whats the TBO in hours on a continental O-200", "time or interval"),
    ("How long should the warning horn sound before the press moves?", "time or interval"),
    ("what vibration alarm limit (mm/s) should I set for a 75 kW motor", "vibration velocity"),
    ("whats the max OSHA fine in $ per serious violation", "amount of money"),
    ("need the actual formula for the safety distance", "formula"),
    ("what is the max oil temperature for the gearbox", "temperature"),
    ("what pressure should the accumulator be charged to", "pressure"),
])
def test_a_question_asking_for_a_value_names_its_kind(question: str, kind: str) -> None:
    found = asked_kind(question)
    assert found is not None and found.name == kind


@pytest.mark.parametrize("question", [
    "klipper shuts down mid print, printer ran fine for months - why?",
    "machinist says its fine as long as hes careful",
    "how do I reset alarm 2 on grbl",
    "what does TMC error uv_cp mean",
    "why does the motor lose torque at high speed",
    "how can I read out all the register values from a trinamic driver",
])
def test_how_why_and_what_is_questions_ask_for_no_kind(question: str) -> None:
    assert asked_kind(question) is None


@pytest.mark.parametrize(("kind_of", "sentence", "held"), [
    ("torque spec for the bolts", "Tighten the liner bolts to 450 N·m in a cross pattern.", True),
    ("torque spec for the bolts", "Torque to 35 ft-lbs.", True),
    ("torque spec for the bolts", "Tighten the liner bolts evenly in a cross pattern.", False),
    ("how much deflection", "Deflection should be 1/64 inch per inch of span.", True),
    ("how much deflection", "Check the belt tension and deflection regularly.", False),
    ("how often should it be done", "Blow down the boiler once per shift.", True),
    ("how often should it be done", "Blow down the boiler to remove sludge.", False),
    ("How long should the horn sound", "The horn sounds for at least 2 seconds.", True),
    ("max fine in $", "Penalties can reach $16,131 per violation.", True),
    ("max fine in $", "Employers may be fined for violations.", False),
    ("the actual formula", "Ds = K x (Ts + Tc + Tr + Tbm)", True),
])
def test_a_value_of_the_kind_is_recognised_in_a_sentence(kind_of: str, sentence: str,
                                                         held: bool) -> None:
    kind = asked_kind(kind_of)
    assert kind is not None and kind.held_in(sentence) is held


def test_the_not_found_notice_says_what_value_is_missing() -> None:
    lacking = Evidence(Verdict.NOT_FOUND, 0.9, reason="The pages give no torque value.")
    assert not_found_notice(lacking).startswith("The pages give no torque value. The closest")
    unknown = Evidence(Verdict.NOT_FOUND, 0.1, missing=("alarm:14",))
    assert "do not mention ALARM:14" in not_found_notice(unknown)


def _passage(file: str, codes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from ingest.contract import Chunk, DocType
    from ingest.search import Candidate

    return Candidate(Chunk(text="…", file=file, file_sha256="0" * 64, doc_type=DocType.MANUAL,
                           chunk_index=0, page=1, fault_codes=codes), 0.5)


def test_a_code_its_table_does_not_list_is_said_to_be_missing() -> None:
    from app.answer.retrieval import Retriever

    table = _passage("grbl_alarms.pdf", tuple(f"alarm:{n}" for n in range(1, 11)))
    other = _passage("klipper.pdf", ("error:3",))
    assert Retriever.unlisted_codes("grbl ALARM:14 after an e-stop", [table, other]) == [
        "grbl_alarms.pdf lists alarm codes 1–10; ALARM:14 is not among them."]
    assert Retriever.unlisted_codes("alarm 9 while homing", [table, other]) == []
    # no table of that family among the passages: not for this rule to say
    assert Retriever.unlisted_codes("error 52 on a toolchange", [table, other]) == []
    # named by a passage outside the table: it is in the documents
    named = _passage("notes.pdf", ("alarm:14",))
    assert Retriever.unlisted_codes("ALARM:14", [table, named]) == []
