"""A technician's scanned manual, set in two columns: its quoted evidence reads as words."""

from pathlib import Path

from tests.e2e.conftest import sign_in
from tests.e2e.test_ask import wait_for_answer


def test_a_quote_from_a_scanned_two_column_page_reads_as_words(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path) -> None:
    page = sign_in(browser, signed_in_ui, "op")
    page.locator("#question textarea").fill(
        "which switch closes a circuit when it is exposed to a high temperature?")
    page.locator("#ask").click()
    answer = " ".join(wait_for_answer(page, 1).split())
    assert "glossary_scan.pdf, page 1 (OCR text)" in answer, answer
    quoted = answer[answer.index("From the documents"):answer.index("Model's draft")]
    # the left column's sentence, whole, word by word: not run into the line beside it
    # ("…exposed toto produce rotation…")
    assert "closes a circuit when it is exposed to a specified high temperature" in quoted, quoted
    page.screenshot(path=str(screenshots / "ask-scanned-quote.png"), full_page=True)
    page.close()
