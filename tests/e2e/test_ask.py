"""An operator asks in the browser and sees a streamed, cited answer."""

from pathlib import Path
from urllib.parse import urlparse

QUESTION = "Homing fails with ALARM 9, could not find the limit switch. What should I check?"
SOURCE = "grbl_alarm_and_error_codes.pdf, page 1"


def test_streamed_cited_answer_and_nothing_loaded_from_outside(
        browser, ui_url: str, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url.split(":")[0]))
    page.goto(ui_url)
    page.get_by_placeholder("Describe the fault or ask a question…").fill(QUESTION)
    page.locator("#ask").click()

    answers = page.locator("#answers")
    seen: list[str] = []
    for _ in range(600):  # until the sources show up: at most ~120 s
        text = answers.inner_text()
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if SOURCE in text and "▌" not in text:
            break
        page.wait_for_timeout(200)
    final = answers.inner_text()
    page.locator("#cited label").first.click()  # open the first source: its page and passage
    page.locator("#preview img").wait_for(timeout=30_000)
    assert "grbl_alarm_and_error_codes.pdf, page" in page.locator("#passage").inner_text()
    page.screenshot(path=str(screenshots / "ask.png"), full_page=True)

    assert SOURCE in final, final
    partial = [t for t in seen if "▌" in t]
    assert len(partial) >= 2, f"answer was not streamed: {seen[:3]}"
    assert hosts <= {"127.0.0.1", "data", "blob"}, f"page reached outside: {hosts}"
