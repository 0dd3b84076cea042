"""The sentence-level check of the model's answer with the real embedder, BM25 word weights and
index (app.answer.support): what a passage says is not marked, what none says is, and the
check after the stream waits for the vectors made while the model wrote."""

from pathlib import Path

from tests.conftest import copy_index, make_services, make_settings


def test_invented_steps_are_marked_and_the_pages_own_words_are_not(
        tmp_path: Path, samples_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    services = make_services(make_settings(copy_index(samples_index, tmp_path / "data")),
                             embedder)
    hits = services.retriever.retrieve("Homing fails with ALARM 9. What should I check?")
    passages = {i + 1: hit.chunk for i, hit in enumerate(hits)}
    assert any("Could not find limit switch" in " ".join(c.text.split())
               for c in passages.values())
    answer = ("ALARM:9 means homing could not find the limit switch within the search "
              "distance [1].\n"
              "1. Try increasing max travel or decreasing the pull-off distance [1].\n"
              "2. Remove the gear box from the press brake and weld the frame back together.\n"
              "3. Then repaint the spindle housing in a darker colour.")
    check = services.retriever.support_check
    check.prepare(list(passages.values()))
    check.prepare_sentences(answer)  # as while streaming: all but the last sentence
    marked = check.unsupported(answer, passages)
    assert [s.plain for s in marked] == [
        "Remove the gear box from the press brake and weld the frame back together.",
        "Then repaint the spindle housing in a darker colour."]
    assert all(answer[s.start:].startswith(s.text) for s in marked)  # marks land on them
