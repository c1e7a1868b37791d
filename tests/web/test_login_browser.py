"""The login and the status page in a real browser (headless Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, run_cli

pytestmark = pytest.mark.browser


def test_login_parts_table_api_write_and_logout(tmp_path: Path, page: Any) -> None:
    assert run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin="correct horse\n").returncode == 0
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__DRIVER="none", APPLIANCE_SITE__ID="lab-7").start()
    try:
        daemon.wait_healthy()
        page.goto(daemon.url("/"))
        assert page.url.endswith("/login")
        page.fill("input[name=username]", "tech")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        assert page.locator("[role=alert]").inner_text() == "Wrong user name or password."
        page.fill("input[name=username]", "tech")
        page.fill("input[name=password]", "correct horse")
        page.click("button[type=submit]")
        page.wait_for_url(daemon.url("/"))
        assert page.locator("tr[data-part=web] td.ok").inner_text() == "ok"
        assert "lab-7" in page.title()
        # an API write from the page carries the anti-forgery token from /api/session
        token = page.evaluate("fetch('/api/session').then(r => r.json()).then(j => j.csrf_token)")
        status = page.evaluate(
            """([token, text]) => fetch('/api/sms', {method: 'POST',
                 headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
                 body: JSON.stringify({to: '0401234567', text: text})}).then(r => r.status)""",
            [token, "Test from the status page"],
        )
        assert status == 200
        page.click("text=Log out")
        page.wait_for_url(daemon.url("/login"))
        page.goto(daemon.url("/"))
        assert page.url.endswith("/login")
    finally:
        daemon.kill()
