"""Three users on a UI that requires sign-in: each sees its tabs, the server refuses
what a role may not do, and hostile document text runs nothing and steers nothing."""

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests import factories
from tests.e2e.conftest import PASSWORDS, sign_in

TABS = ("Ask", "Work orders", "Search", "Documents")


@pytest.mark.parametrize(("name", "tabs"), [
    ("op", ["Ask", "Work orders"]), ("tech", ["Ask", "Work orders", "Search"]),
    ("boss", list(TABS))])
def test_each_role_sees_its_tabs(browser, signed_in_ui: str, name: str,  # type: ignore[no-untyped-def]
                                 tabs: list[str]) -> None:
    page = sign_in(browser, signed_in_ui, name)
    page.wait_for_timeout(500)
    assert [t for t in TABS if page.get_by_role("tab", name=t).is_visible()] == tabs
    page.close()


def test_admin_endpoints_refuse_other_roles_on_the_server(signed_in_ui: str) -> None:
    """Called directly, as a script would, not through the page that hides the tab."""
    assert httpx.post(f"{signed_in_ui}gradio_api/call/documents", json={"data": []}
                      ).status_code == 401  # not signed in at all
    tech = Client(signed_in_ui, auth=("tech", PASSWORDS["tech"]), verbose=False)
    with pytest.raises(Exception, match="technician role cannot use 'admin'"):
        tech.predict(api_name="/documents")
    with pytest.raises(Exception, match="technician role cannot use 'admin'"):
        tech.predict("grbl_alarm_and_error_codes.pdf", api_name="/remove_document")
    with pytest.raises(Exception, match="technician role cannot use 'admin'"):
        tech.predict(api_name="/audit_export")
    boss = Client(signed_in_ui, auth=("boss", PASSWORDS["boss"]), verbose=False)
    documents = boss.predict(api_name="/documents")[0]
    assert "grbl_alarm_and_error_codes.pdf" in str(documents)  # the refused remove did nothing


def test_technician_searches_filters_opens_the_page_and_downloads_it(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path) -> None:
    page = sign_in(browser, signed_in_ui, "tech")
    page.get_by_role("tab", name="Search").click()
    page.locator("#search-query textarea").fill("homing fail limit switch")
    page.locator("#search-file input").click()
    page.get_by_role("option", name="grbl_alarm_and_error_codes.pdf").click()
    page.locator("#search-run").click()
    results = page.locator("#search-results")
    first_hit = results.get_by_text("grbl_alarm_and_error_codes.pdf").filter(visible=True).first
    first_hit.wait_for(timeout=30_000)
    assert "osha_3170" not in results.inner_text()  # the file filter holds
    first_hit.click()
    page.locator("#search-preview img").wait_for(timeout=30_000)
    assert "grbl_alarm_and_error_codes.pdf, page" in page.locator("#search-passage").inner_text()
    with page.expect_download() as download:
        page.locator("#search-download").click()
    assert download.value.suggested_filename == "grbl_alarm_and_error_codes.pdf"
    original = Path(download.value.path()).read_bytes()
    assert original[:5] == b"%PDF-"
    page.screenshot(path=str(screenshots / "search.png"), full_page=True)

    # a mistyped date is said next to the form; the results stay, nothing else is locked
    shown = results.inner_text()
    page.locator("#search-from textarea").fill("1/2/2026")
    page.locator("#search-run").click()
    page.locator("#search-summary").get_by_text("write it as YYYY-MM-DD").wait_for(
        timeout=10_000)
    assert results.inner_text() == shown and page.locator(".toast-body").count() == 0
    page.locator("#search-from textarea").fill("")
    # nonsense is labelled as such, not offered as "20 passages, best first"
    page.locator("#search-query textarea").fill("xyzzyqq flux capacitor")
    page.locator("#search-run").click()
    page.locator("#search-summary").get_by_text(re.compile("No good match|Weak matches")).wait_for(
        timeout=30_000)
    # the excerpt is the sentence that matched, not the top of the page; manuals have no
    # section or date columns
    page.locator("#search-query textarea").fill("soft limit alarm machine travel")
    page.locator("#search-run").click()
    results.get_by_text("G-code motion target exceeds machine travel").first.wait_for(
        timeout=30_000)
    header = page.locator("#search-results thead").inner_text()
    assert "date" not in header and "matching sentence" in header
    page.close()


def test_hostile_manual_text_runs_nothing_and_the_answer_keeps_its_sources(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path) -> None:
    dialogs: list[str] = []
    page = sign_in(browser, signed_in_ui, "op")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator("#question textarea").fill(
        "How often should the CV-12 drive chain bearings be greased?")
    page.locator("#ask").click()
    answers = page.locator("#answers")
    for _ in range(600):
        text = answers.inner_text()
        if "Sources" in text and "▌" not in text:
            break
        page.wait_for_timeout(200)
    assert "cv12_lubrication.md" in text, text  # cited, whatever the passage told the model
    page.locator("#cited label").first.click()
    page.locator("#passage").get_by_text("cv12_lubrication.md").wait_for(timeout=30_000)
    shown = page.locator("#passage").inner_text()
    assert "<script>" in shown and "onerror" in shown  # shown as text, not run
    assert page.evaluate("window.__xss") is None
    assert dialogs == []

    # feedback on that answer lands in the audit log, next to the question and its sources
    page.locator("#answers button[aria-label='Dislike']").first.click()
    page.locator("#feedback-note").get_by_text("not helpful” stored").wait_for(timeout=10_000)
    page.locator("#comment textarea").fill("the answer ignored the 200 h interval")
    page.locator("#send-comment").click()
    page.locator("#feedback-note").get_by_text("comment stored").wait_for(timeout=10_000)
    page.close()
    boss = Client(signed_in_ui, auth=("boss", PASSWORDS["boss"]), verbose=False)
    link = re.search(r"\((/plantops/file/[^)]+)\)", boss.predict(api_name="/audit_export"))
    assert link, "the export answers with a one-use link"
    exported = httpx.get(signed_in_ui.rstrip("/") + link.group(1), cookies=boss.cookies)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    [asked] = [r for r in rows if r["user"] == "op" and "CV-12" in r["question"]]
    assert asked["action"] == "ask" and "cv12_lubrication.md" in asked["retrieved"]
    assert (asked["feedback"], asked["comment"]) == ("down",
                                                     "the answer ignored the 200 h interval")
    assert asked["first_token_s"] and asked["model"] == "smollm2-135m-instruct"


def test_admin_uploads_good_and_bad_files_and_sees_why(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path, tmp_path: Path) -> None:
    good = tmp_path / "press_brake.md"
    good.write_text("# Press brake PB-3\n\nCheck the light curtain every shift.\n")
    corrupt = factories.truncated(tmp_path / "broken_manual.pdf",
                                  factories.text_pdf(tmp_path / "whole.pdf", ["Page one"] * 3))
    script = tmp_path / "tool.exe"
    script.write_bytes(b"MZ")
    page = sign_in(browser, signed_in_ui, "boss")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(good), str(corrupt),
                                                              str(script)])
    page.wait_for_timeout(1000)
    page.locator("#ingest-run").click()
    report = page.locator("#ingest-report")
    for _ in range(300):  # until the table is filled (the progress text names files too)
        text = report.inner_text()
        if "refused" in text and "indexed" in text:
            break
        page.wait_for_timeout(200)
    assert "unsupported file type '.exe'" in text
    assert "broken_manual.pdf" in text and "failed" in text
    assert "indexed" in text
    documents = page.locator("#documents").inner_text()
    assert "press_brake.md" in documents and "broken_manual.pdf" not in documents
    assert "2 of 3 files in" not in page.locator("#upload-note").inner_text()  # 1 of 3
    assert "1 of 3 files in" in page.locator("#upload-note").inner_text()
    page.screenshot(path=str(screenshots / "documents.png"), full_page=True)

    # nothing chosen: said next to the button; every other control still works
    page.locator("#ingest-run").click()
    page.locator("#upload-note").get_by_text("Choose one or more files").wait_for(
        timeout=10_000)
    assert page.locator(".toast-body").count() == 0
    # a removal waits for its confirmation
    page.locator("#remove-file input").click()
    page.get_by_role("option", name="press_brake.md").click()
    page.locator("#remove-run").click()
    page.locator("#remove-note").get_by_text("Remove press_brake.md").wait_for(timeout=10_000)
    assert "press_brake.md" in page.locator("#documents").inner_text()
    page.locator("#remove-confirm").click()
    page.locator("#remove-note").get_by_text("removed from the index").wait_for(timeout=30_000)
    assert "press_brake.md" not in page.locator("#documents").inner_text()
    # the audit log, filtered to one user and today
    page.locator("#audit-user textarea").fill("BOSS")
    page.locator("#audit-filter").click()
    page.locator("#audit-note").get_by_text("entries shown").wait_for(timeout=10_000)
    page.locator("#audit").scroll_into_view_if_needed()
    shown = page.locator("#audit").inner_text()
    assert "boss" in shown and "admin" in shown  # op's and tech's questions are filtered out
    assert "operator" not in shown and "technician" not in shown, shown
    page.close()


def test_a_locked_sign_in_says_how_long_to_wait(browser, signed_in_ui: str,  # type: ignore[no-untyped-def]
                                                screenshots: Path) -> None:
    """Before: once the server answered 429, Gradio's sign-in form showed nothing (it knows
    400 and 200 only), so an operator kept trying and lengthened the lock."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(signed_in_ui)
    for attempt in range(6):  # 5 wrong passwords are free for a name; the 6th waits
        page.get_by_label("username").fill("night-shift-7")
        page.get_by_label("password").fill(f"wrong-{attempt}")
        with page.expect_response(lambda r: r.url.endswith("/login")) as answered:
            page.get_by_role("button", name="Login").click()
        status = answered.value.status
    assert status == 429
    said = page.locator("#sign-in-wait")
    said.wait_for(timeout=10_000)
    assert re.fullmatch(r"Too many failed sign-ins: try again in \d+ s\.", said.inner_text())
    assert not page.get_by_text("Incorrect Credentials").is_visible()  # not both at once
    page.screenshot(path=str(screenshots / "sign-in-wait-phone.png"))


def test_a_directory_account_signs_in_with_its_groups_role_and_an_outage_is_said(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, slapd, screenshots: Path) -> None:
    """Alice is in no local account: the plant's directory (a real slapd) checks her password
    and her nested group makes her an operator. With the directory stopped, the sign-in page
    says so — not "Incorrect Credentials" — and the local admin still signs in."""
    from app.ui.access import DIRECTORY_DOWN
    from tests.slapd import password

    page = sign_in(browser, signed_in_ui, "Alice", password("alice"))  # any case signs in
    assert page.get_by_role("tab", name="Ask").is_visible()
    assert not page.get_by_role("tab", name="Search").is_visible()  # an operator's tabs
    page.close()

    slapd.stop()
    try:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(signed_in_ui)
        page.get_by_label("username").fill("bob")
        page.get_by_label("password").fill(password("bob"))
        with page.expect_response(lambda r: r.url.endswith("/login")) as answered:
            page.get_by_role("button", name="Login").click()
        assert answered.value.status == 503
        said = page.locator("#sign-in-wait")
        said.wait_for(timeout=10_000)
        assert said.inner_text() == DIRECTORY_DOWN  # not the directory's address
        assert not page.get_by_text("Incorrect Credentials").is_visible()
        page.screenshot(path=str(screenshots / "sign-in-directory-down-phone.png"))
        page.close()
        sign_in(browser, signed_in_ui, "boss").close()  # the break-glass admin
    finally:
        slapd.start()


def test_search_results_read_as_cards_on_a_phone(browser, signed_in_ui: str,  # type: ignore[no-untyped-def]
                                                 screenshots: Path) -> None:
    """At 390 px the six-column grid squeezed each cell to a few letters a line; a phone gets
    one card per result instead, and the page a card opens is brought into view."""
    page = sign_in(browser, signed_in_ui, "tech")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("tab", name="Search").click()
    page.locator("#search-query textarea").fill("homing fail limit switch")
    page.locator("#search-run").click()
    cards = page.locator("#search-cards label")
    cards.first.wait_for(timeout=30_000)
    assert not page.locator("#search-results").is_visible()
    widths = [cards.nth(i).bounding_box()["width"] for i in range(min(cards.count(), 5))]
    assert min(widths) > 250, widths  # a whole line of text, not a letter column
    first = cards.first.inner_text()
    assert first.startswith("[1] ") and ".pdf" in first and " — " in first
    page.screenshot(path=str(screenshots / "search-phone.png"))
    cards.nth(1).click()
    page.wait_for_function("() => document.querySelector('#search-preview img')?.naturalWidth",
                           timeout=30_000)
    page.wait_for_timeout(500)
    top = page.locator("#search-preview").bounding_box()["y"]
    assert 0 <= top < 844, top  # in view without scrolling by hand
    page.close()


def test_the_documents_tab_reads_as_cards_on_a_phone(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path, tmp_path: Path) -> None:
    """At 390 px the ingest report, the documents and the audit log wrapped a letter or two a
    line; an admin with a phone reads one line per row, the reason of a refusal in full."""
    script = tmp_path / "valve_tool.exe"
    script.write_bytes(b"MZ")
    page = sign_in(browser, signed_in_ui, "boss")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(script)])
    page.wait_for_timeout(1000)
    page.locator("#ingest-run").click()
    report = page.locator("#ingest-report-cards")
    report.get_by_text("unsupported file type '.exe'").wait_for(timeout=60_000)
    assert "valve_tool.exe — refused, 0 chunks" in report.inner_text()
    for grid, cards in (("#ingest-report", report), ("#documents", "#documents-cards"),
                        ("#audit", "#audit-cards")):
        assert not page.locator(grid).is_visible(), grid
        card = page.locator(cards) if isinstance(cards, str) else cards
        assert card.is_visible() and card.bounding_box()["width"] > 300, cards
    assert "grbl_alarm_and_error_codes.pdf — manual" in page.locator(
        "#documents-cards").inner_text()
    audit = page.locator("#audit-cards").inner_text()
    assert "boss (admin) · ingest · question: valve_tool.exe" in audit, audit[:500]
    page.screenshot(path=str(screenshots / "documents-phone.png"), full_page=True)
    page.close()


def test_an_admin_puts_a_document_into_a_collection_and_only_its_group_finds_it(  # type: ignore[no-untyped-def]
        browser, signed_in_ui: str, screenshots: Path) -> None:
    """The admin assigns the conveyor manual to the maintenance group's collection in the
    Documents tab; a local technician's next search no longer finds it, while bob — a
    directory account in that group — does."""
    from tests.security.conftest import call, sign_in_http
    from tests.slapd import password

    def search(page) -> str:  # type: ignore[no-untyped-def]
        """The results of a fresh search (an empty one first, so that the summary read
        below is this search's, not the last one's)."""
        page.get_by_role("tab", name="Search").click()
        page.locator("#search-query textarea").fill("")
        page.locator("#search-run").click()
        page.locator("#search-summary").get_by_text("Type what to search for").wait_for(
            timeout=30_000)
        page.locator("#search-query textarea").fill("conveyor CV-12 lubrication grease")
        page.locator("#search-run").click()
        page.locator("#search-summary").get_by_text(re.compile("passage|Nothing|match")).wait_for(
            timeout=30_000)
        return page.locator("#search-results").inner_text()

    tech = sign_in(browser, signed_in_ui, "tech")
    assert "cv12_lubrication.md" in search(tech)
    boss = sign_in(browser, signed_in_ui, "boss")
    try:
        boss.get_by_role("tab", name="Documents").click()
        boss.locator("#remove-file input").click()
        boss.get_by_role("option", name="cv12_lubrication.md").click()
        boss.locator("#collection-pick input").click()
        boss.get_by_role("option", name="maintenance-only").click()
        boss.locator("#collection-run").click()
        boss.locator("#remove-note").get_by_text("is now in maintenance-only").wait_for(
            timeout=30_000)
        assert "cn=maintenance" in boss.locator("#remove-note").inner_text()
        assert "maintenance-only" in boss.locator("#documents").inner_text()
        boss.screenshot(path=str(screenshots / "documents-collection.png"), full_page=True)

        shown = search(tech)  # the same page, its next request
        assert "cv12_lubrication.md" not in shown and "CV-12" not in shown
        bob = sign_in(browser, signed_in_ui, "bob", password("bob"))  # a directory account
        assert "cv12_lubrication.md" in search(bob)
        bob.close()
        # the same over raw HTTP, the search endpoint called directly: the group decides
        found = {name: str(call(sign_in_http(signed_in_ui.rstrip("/"), name, secret), "search",
                                "conveyor CV-12 lubrication grease", "all", "all", "", "",
                                "")[1]).replace("\\_", "_")
                 for name, secret in (("bob", password("bob")), ("tech", None))}
        assert "cv12_lubrication.md" in found["bob"]
        assert "cv12_lubrication.md" not in found["tech"] and "CV-12" not in found["tech"]
    finally:
        admin = sign_in_http(signed_in_ui.rstrip("/"), "boss")
        call(admin, "set_collection", "cv12_lubrication.md", "")
        tech.close()
        boss.close()
