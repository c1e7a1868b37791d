"""The status page in a real browser against the real daemon with its simulated modem."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.store.db import utcnow
from tests.helpers import Daemon, run_cli
from tests.web.browser_util import login, shot, wait_until
from tests.web.harness import PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "assets" / "axe.min.js"
HOSTILE = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2> hello"
PAGES = (
    "/", "/inbox", "/outbox", "/failed", "/calls", "/followups", "/complaints", "/surveys", "/contacts", "/charts",
    "/audit",
)


def _daemon(tmp_path: Path, **env: str) -> Daemon:
    assert run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    env = {"APPLIANCE_MODEM__SEND_INTERVAL": "0", "APPLIANCE_SITE__NAME": "Lab 7 reception", **env}
    return Daemon(tmp_path, **env).start()


def _messages(tmp_path: Path, box: str = "outbox") -> list[dict[str, Any]]:
    result = run_cli(tmp_path, "sms", "list", "--box", box, "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_login_live_sms_and_hostile_text_shown_as_text(tmp_path: Path, page: Any) -> None:
    daemon = _daemon(tmp_path)
    try:
        daemon.wait_healthy()
        page.goto(daemon.url("/"))
        page.fill("input[name=username]", "tech")
        page.fill("input[name=password]", "wrong password")
        page.click("form.login button[type=submit]")
        assert page.locator("[role=alert]").inner_text() == "Wrong user name or password."
        login(page, daemon.url)
        assert page.locator("#modem-title .badge.sim").inner_text() == "SIMULATED"
        page.wait_for_selector("#live-status.fresh", timeout=10_000)
        wait_until(lambda: page.locator("[data-k='modem.state']").inner_text().endswith("ok"), timeout=20)
        assert page.locator("[data-k='today.received']").inner_text() == "0"

        start = time.monotonic()
        inject = run_cli(tmp_path, "sms", "sim", "inject", "--from", "+358401234567", "--text", HOSTILE)
        assert inject.returncode == 0, inject.stderr
        wait_until(lambda: page.locator("[data-k='today.received']").inner_text() == "1", timeout=15)
        print(f"SMS injected -> dashboard updated: {time.monotonic() - start:.2f} s (no reload)")
        shot(page, tmp_path, "dashboard.png")

        page.goto(daemon.url("/inbox"))
        cell = page.locator("td.sms-text").first
        assert cell.inner_text() == HOSTILE
        assert page.locator("td.sms-text img, td.sms-text script").count() == 0
        assert page.evaluate("window.pwned") is None
        page.click("text=Log out")
        page.wait_for_url(daemon.url("/login"))
        page.goto(daemon.url("/"))
        assert page.url.endswith("/login")
    finally:
        daemon.kill()


def test_pause_sending_then_resume_and_retry_a_failed_message(tmp_path: Path, page: Any) -> None:
    daemon = _daemon(tmp_path)
    try:
        daemon.wait_healthy()
        login(page, daemon.url)
        page.click("#pause-sending")
        page.wait_for_selector("[data-k=paused]:not([hidden])", timeout=10_000)
        assert run_cli(tmp_path, "sms", "send", "--to", "0401234567", "--text", "paused one").returncode == 0
        time.sleep(4)  # the sender would have sent it well within this
        assert [m["status"] for m in _messages(tmp_path)] == ["queued"]
        page.click("#resume-sending")
        wait_until(lambda: _messages(tmp_path)[0]["status"] in ("sent", "delivered"), timeout=20)

        conn = sqlite3.connect(tmp_path / "appliance.db")
        with conn:
            cur = conn.execute(
                "INSERT INTO sms_messages(box, number, text, status, attempts, last_error, created_at, updated_at) "
                "VALUES ('outbox', '+358401112223', 'failed before', 'failed', 5, '+CMS ERROR: 38', ?, ?)",
                (utcnow(), utcnow()),
            )
            failed_id = cur.lastrowid
        conn.close()
        page.goto(daemon.url("/failed"))
        page.check(f"#sel-{failed_id}")
        page.click("#retry-selected")
        page.wait_for_url(daemon.url("/failed"))
        wait_until(
            lambda: next(m for m in _messages(tmp_path) if m["id"] == failed_id)["status"] in ("sent", "delivered"),
            timeout=20,
        )
        page.goto(daemon.url("/audit"))
        text = page.locator("table").inner_text()
        assert "pause_sending" in text and "resume_sending" in text and f"messages {failed_id}" in text
    finally:
        daemon.kill()


def test_phone_sized_layout_and_a_chart(tmp_path: Path, browser: Any) -> None:
    daemon = _daemon(tmp_path)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        daemon.wait_healthy()
        assert run_cli(tmp_path, "sms", "send", "--to", "0401234567", "--text", "chart one").returncode == 0
        login(page, daemon.url)
        page.wait_for_selector("#live-status.fresh", timeout=10_000)
        for path in PAGES:
            page.goto(daemon.url(path))
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)
        page.goto(daemon.url("/"))
        shot(page, tmp_path, "dashboard-phone.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(daemon.url("/charts"))
        assert page.evaluate("document.querySelector('.chart img').naturalWidth") > 0
        shot(page, tmp_path, "charts.png", full_page=True)
    finally:
        context.close()
        daemon.kill()


def test_axe_core_finds_no_serious_or_critical_violation_on_any_page(tmp_path: Path, browser: Any) -> None:
    daemon = _daemon(tmp_path)
    # axe is injected as a script: the page's own CSP would (rightly) refuse it
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        daemon.wait_healthy()
        assert run_cli(tmp_path, "sms", "send", "--to", "0401234567", "--text", "axe one").returncode == 0
        problems = {}
        for path in ("/login", *PAGES):
            page.goto(daemon.url(path))
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            bad = [
                f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                for v in result["violations"] if v["impact"] in ("serious", "critical")
            ]
            if bad:
                problems[path] = bad
            if path == "/login":
                page.fill("input[name=username]", "tech")
                page.fill("input[name=password]", PASSWORD)
                page.click("form.login button[type=submit]")
                page.wait_for_url(daemon.url("/"))
        assert not problems, problems
    finally:
        context.close()
        daemon.kill()


def test_a_simulated_call_pops_the_caller_within_a_second(tmp_path: Path, page: Any) -> None:
    daemon = _daemon(tmp_path, APPLIANCE_LINE__RINGS_BEFORE_ANSWER="0")
    try:
        daemon.wait_healthy()
        # the calls part handles rings once its voice prompts are built (seconds on a busy machine)
        wait_until(lambda: json.loads(daemon.get("/healthz")[1])["parts"].get("calls") == "ok", timeout=120, step=0.5)
        login(page, daemon.url)
        page.wait_for_selector("#live-status.fresh", timeout=10_000)
        assert page.locator("#line-title .badge.sim").inner_text() == "SIMULATED"
        ring = run_cli(
            tmp_path, "line", "sim", "ring", "--number", "0401234567", "--name", "<b>ANNA</b>", "--standard", "bell202"
        )
        assert ring.returncode == 0, ring.stderr
        page.wait_for_selector("#caller-pop:not([hidden])", timeout=10_000)
        assert page.locator("[data-pop=number]").inner_text() == "+358401234567"
        name = page.locator("[data-pop=name]").inner_text()
        assert name == "<b>ANNA</b>", name  # the name on the line, as text
        latency = int(page.locator("#caller-pop").get_attribute("data-latency-ms") or "99999")
        print(f"caller pop: bus event -> card in the browser {latency} ms")
        assert latency < 1000
        wait_until(lambda: page.locator("[data-k='line.state']").inner_text().endswith("ringing"), timeout=5)
        # call back from the card: an outbound call job, audited
        page.click("[data-pop=dial-form] button")
        page.wait_for_url(daemon.url("/calls"))
    finally:
        daemon.kill()
