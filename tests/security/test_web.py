"""Each role against each kind of file and each guarded route, over raw HTTP with that role's
own session (and a real browser where a link is only made by a click)."""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import ROOT, free_port
from tests.e2e.conftest import PASSWORDS, wait_http
from tests.security.conftest import IDLE_S, GuardedUi, call, sign_in_http


def original_link(browser, ui: GuardedUi) -> str:  # type: ignore[no-untyped-def]
    """The download link a technician gets by opening a search hit in the page."""
    session = sign_in_http(ui.url, "tech")
    context = browser.new_context()
    context.add_cookies([{"name": n, "value": v, "url": ui.url} for n, v in
                         (c.split("=", 1) for c in session.headers["Cookie"].split("; "))])
    page = context.new_page()
    page.goto(ui.url)
    page.get_by_role("tab", name="Search").click()
    page.locator("#search-query textarea").fill("homing fail limit switch")
    page.locator("#search-run").click()
    hit = page.locator("#search-results").get_by_text("grbl_alarm_and_error_codes.pdf")
    hit.filter(visible=True).first.click(timeout=30_000)
    with page.expect_download() as download:
        page.locator("#search-download").click()
    link = download.value.url
    context.close()
    return link.removeprefix(ui.url)


def test_an_original_reaches_only_the_technician_it_was_given_to(browser, guarded_ui) -> None:  # type: ignore[no-untyped-def]
    link = original_link(browser, guarded_ui)
    assert link.startswith("/plantops/file/")
    assert httpx.get(guarded_ui.url + link).status_code == 401
    assert sign_in_http(guarded_ui.url, "op").get(link).status_code == 403
    assert sign_in_http(guarded_ui.url, "boss").get(link).status_code == 403  # not given to boss
    fetched = sign_in_http(guarded_ui.url, "tech").get(link)
    assert fetched.status_code == 200 and fetched.content[:5] == b"%PDF-"
    assert "grbl_alarm_and_error_codes.pdf" in fetched.headers["content-disposition"]


def test_an_audit_export_reaches_its_admin_once_then_is_gone(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    boss = sign_in_http(guarded_ui.url, "boss")
    [markdown] = call(boss, "audit_export")
    link = re.search(r"\((/plantops/file/[^)]+)\)", markdown).group(1)  # type: ignore[union-attr]
    for other in ("op", "tech"):
        assert sign_in_http(guarded_ui.url, other).get(link).status_code == 403
        with pytest.raises(RuntimeError, match="cannot use 'admin'"):
            call(sign_in_http(guarded_ui.url, other), "audit_export")
    exported = boss.get(link)
    assert exported.status_code == 200 and exported.text.startswith("id,time_utc,user")
    assert exported.headers["content-disposition"].startswith('attachment; filename="')
    assert boss.get(link).status_code == 404  # one use
    # deleted before its first byte was sent (it used to go in a task after the last byte,
    # and a client on a busy machine was once quicker than that task)
    assert not list((guarded_ui.data / "exports").glob("*"))


def test_no_data_file_is_served_by_path(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    """Gradio serves any file under allowed_paths to anyone signed in: originals, exports and
    the databases must not be reachable that way, whatever the role."""
    [original] = list((guarded_ui.data / "originals").iterdir())[:1]
    targets = [original, guarded_ui.data / "records.sqlite3",
               guarded_ui.data / "exports" / "plantops-audit-x.csv"]
    for name in ("op", "tech", "boss"):
        session = sign_in_http(guarded_ui.url, name)
        for target in targets:
            assert session.get(f"/gradio_api/file={target}").status_code == 403, (name, target)


def test_only_admins_may_upload(guarded_ui, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name, status in (("op", 403), ("tech", 403), ("boss", 200)):
        files = {"files": ("note.md", b"# Note\nhello\n", "text/markdown")}
        response = sign_in_http(guarded_ui.url, name).post("/gradio_api/upload", files=files)
        assert response.status_code == status, (name, response.text)
    assert httpx.post(guarded_ui.url + "/gradio_api/upload",
                      files={"files": ("n.md", b"x")}).status_code in (401, 403)


def test_guessing_a_password_is_throttled(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    statuses = [httpx.post(f"{guarded_ui.url}/login",
                           data={"username": "guessme", "password": f"guess-{i}"}).status_code
                for i in range(12)]
    assert statuses[:5] == [400] * 5 and set(statuses[6:]) == {429}, statuses
    refused = httpx.post(f"{guarded_ui.url}/login",
                         data={"username": "GuessMe", "password": "guessme-pass"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_behind_haproxy_each_console_is_throttled_on_its_own(guarded_ui, tmp_path: Path  # type: ignore[no-untyped-def]
                                                            ) -> None:
    """Before: behind the shipped HAProxy every request came from the balancer's address, so
    20 failed sign-ins from anyone (one script, one careless console) made every operator in
    the plant wait up to 15 minutes to sign in. Now HAProxy appends the client's address and
    the UI trusts it from the balancer alone: what the client itself writes there is not
    believed."""
    ui = urlparse(guarded_ui.url).netloc
    lb = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PLANTOPS_LB_BIND": lb, "PLANTOPS_UI_1": ui, "PLANTOPS_UI_2": ui}
    with (tmp_path / "haproxy.log").open("wb") as log:
        haproxy = subprocess.Popen(["haproxy", "-db", "-f",
                                    str(ROOT / "deploy/haproxy/plantops.cfg")],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://{lb}/healthz", haproxy, tmp_path / "haproxy.log")

        def console(address: str) -> httpx.Client:  # another host, as loopback allows
            return httpx.Client(base_url=f"http://{lb}", timeout=30,
                                transport=httpx.HTTPTransport(local_address=address))

        with console("127.0.0.2") as script:
            statuses = [script.post("/login", data={"username": f"nobody-{i}", "password": "x"},
                                    headers={"X-Forwarded-For": f"10.1.2.{i}"}).status_code
                        for i in range(22)]
        assert statuses[:20] == [400] * 20 and set(statuses[20:]) == {429}, statuses
        with console("127.0.0.3") as operator:
            signed_in = operator.post("/login", data={"username": "op",
                                                      "password": PASSWORDS["op"]})
        assert signed_in.status_code == 200, signed_in.text
    finally:
        haproxy.kill()
        haproxy.wait(timeout=10)


def test_an_unknown_name_takes_as_long_as_a_known_one(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    def seconds(name: str) -> float:
        started = time.perf_counter()
        assert httpx.post(f"{guarded_ui.url}/login",
                          data={"username": name, "password": "wrong-password"}
                          ).status_code == 400
        return time.perf_counter() - started

    known = statistics.median(seconds("tech") for _ in range(3))
    unknown = statistics.median(seconds(f"nobody{i}") for i in range(3))
    assert unknown > 0.5 * known, (unknown, known)  # was 10 ms against 180 ms
    sign_in_http(guarded_ui.url, "tech")  # the right password clears the name's count


def test_a_mixed_case_name_signs_in_and_can_act(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    tech = sign_in_http(guarded_ui.url, "TECH", PASSWORDS["tech"])
    summary = call(tech, "search", "homing alarm", "all", "all", "", "", "")[0]
    assert "passages" in summary


def test_an_idle_session_expires_and_an_active_one_does_not(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    active, idle = sign_in_http(guarded_ui.url, "op"), sign_in_http(guarded_ui.url, "tech")
    assert idle.get("/gradio_api/login_check").status_code == 200
    for _ in range(4):
        time.sleep(IDLE_S / 3)
        assert active.get("/gradio_api/login_check").status_code == 200
    assert idle.get("/gradio_api/login_check").status_code == 401


def test_session_cookies_are_secure_behind_tls(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(f"{guarded_ui.url}/login",
                          data={"username": "op", "password": PASSWORDS["op"]})
    cookies = response.headers.get_list("set-cookie")
    assert cookies and all("secure" in c.lower() for c in cookies), cookies
    assert not [c for c in cookies if c.startswith("access-token-unsecure")]


def test_data_files_are_private(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    """Made by `plantops users add`, `plantops ingest` and `plantops ui` as they run."""
    call(sign_in_http(guarded_ui.url, "tech"), "search", "alarm", "all", "all", "", "", "")
    assert guarded_ui.data.stat().st_mode & 0o777 == 0o700
    for name in ("records.sqlite3", "manifest.sqlite3"):
        assert (guarded_ui.data / name).stat().st_mode & 0o777 == 0o600, name
    for kept in (guarded_ui.data / "originals").iterdir():
        assert kept.stat().st_mode & 0o077 == 0, kept


def test_search_queries_cannot_plant_formulas_in_the_export(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    tech = sign_in_http(guarded_ui.url, "tech")
    planted = ["\t=HYPERLINK(\"http://x\")", " =1+1", "\r=cmd|'/c calc'!A0", "@SUM(A1)",
               # Before issue 32: these passed behind a no-break space, vertical tab, form
               # feed, zero-width space, BOM, and as a full-width equals sign.
               "\u00a0=1+1", "\v=1+1", "\f=1+1", "\u200b=1+1", "\ufeff=1+1", "＝1+1"]
    for query in planted:
        call(tech, "search", query, "all", "all", "", "", "")
    boss = sign_in_http(guarded_ui.url, "boss")
    [markdown] = call(boss, "audit_export")
    link = re.search(r"\((/plantops/file/[^)]+)\)", markdown).group(1)  # type: ignore[union-attr]
    questions = {row["question"] for row in csv.DictReader(io.StringIO(boss.get(link).text))}
    for query in planted:
        assert "'" + query in questions, (query, questions)


def signed_in_page(browser, ui: GuardedUi, name: str):  # type: ignore[no-untyped-def]
    session = sign_in_http(ui.url, name)
    context = browser.new_context()
    context.add_cookies([{"name": n, "value": v, "url": ui.url} for n, v in
                         (c.split("=", 1) for c in session.headers["Cookie"].split("; "))])
    return context, session


def test_an_incident_survives_a_reload_and_reaches_only_its_user(browser, guarded_ui) -> None:  # type: ignore[no-untyped-def]
    context, op = signed_in_page(browser, guarded_ui, "op")
    page = context.new_page()
    page.goto(guarded_ui.url)
    page.locator("#question textarea").fill("how do I clear grbl ALARM:9 after homing fails")
    page.locator("#ask").click()
    page.locator("#answers .bot-row").get_by_text("Sources").wait_for(timeout=60_000)
    page.locator("#ask").wait_for(state="visible")
    # the address names the incident once the answer's event has ended (a step after it)
    page.wait_for_url(re.compile(r"incident=\d+"), timeout=30_000)
    page.reload()  # the conversation comes back, sources and all
    try:
        page.locator("#answers .bot-row").get_by_text("Sources").wait_for(timeout=30_000)
    except PlaywrightTimeout as exc:  # failed once in CI24, never here: say what was shown
        raise AssertionError(
            f"after the reload of {page.url}: answers "
            f"{page.locator('#answers').inner_text()[:300]!r}, incident note "
            f"{page.locator('#incident-note').inner_text()!r}") from exc
    assert "ALARM:9" in page.locator("#answers .user-row").first.inner_text()
    context.close()

    [listed] = call(op, "incidents")
    [mine] = [i for i in listed if "ALARM:9" in i["title"]]
    assert "ALARM:9" in call(op, "incident", mine["id"])[0][0]["content"]
    for other in ("tech", "boss"):  # another user, even an admin, reaches nothing of it
        session = sign_in_http(guarded_ui.url, other)
        assert all(i["id"] != mine["id"] for i in call(session, "incidents")[0])
        with pytest.raises(RuntimeError, match="not among yours"):
            call(session, "incident", mine["id"])
    assert httpx.post(f"{guarded_ui.url}/gradio_api/call/incidents",
                      json={"data": []}).status_code in (401, 403)


def test_work_order_history_reaches_technicians_not_operators(guarded_ui) -> None:  # type: ignore[no-untyped-def]
    """The history view's endpoint, called directly: an operator (who has no Search tab) is
    refused on the server; a technician gets the asset's work orders."""
    with pytest.raises(RuntimeError, match="operator role cannot use 'search'"):
        call(sign_in_http(guarded_ui.url, "op"), "history", "QR0218", "", "", "per asset")
    summary, _chart, table, *_ = call(sign_in_http(guarded_ui.url, "tech"), "history",
                                      "QR0218", "a/c", "", "per asset")
    assert "6 work order(s)" in summary
    assert len(table["data"]) == 6 and {row[0] for row in table["data"]} == {"QR0218"}
