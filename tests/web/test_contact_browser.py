"""A contact's page in a real browser: a local contact edited, a synced one read-only, the desk's
note on the caller pop; axe-core on both pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.contacts import apply_contact, create_local_contact
from appliance.store.db import Store, utcnow
from tests.web.browser_util import login, shot, wait_until
from tests.web.harness import ServedWeb
from tests.web.test_dashboard_browser import AXE

pytestmark = pytest.mark.browser

SYNCED = {
    "contact_id": "c-1", "version": 3,
    "contact": {
        "name": "Aino Virtanen", "phones": ["+358401234567"], "language": "fi", "birth_date": "1950-02-03",
        "consents": {"sms": True, "call": True, "recording": False}, "tags": ["diabetes"],
    },
}


def _seed(store: Store) -> str:
    with store.transaction():
        apply_contact(store, SYNCED, "FI")
    return create_local_contact(store, "Mati Meikalainen", ["0407654321"], "fi").contact_id


def _serious(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    return [f"{v['id']}: {v['nodes'][0]['target']}" for v in serious]


def test_edit_a_local_contact_note_a_synced_one_and_see_the_note_when_they_call(
    tmp_path: Path, browser: Any
) -> None:
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768})  # axe is injected
    page = context.new_page()
    try:
        with ServedWeb(tmp_path) as served:
            local_id = served.run(_seed)
            login(page, served.url, "desk")  # desk work: no technician needed
            page.goto(served.url("/contacts"))
            page.click("text=Mati Meikalainen")
            assert page.url == served.url(f"/contacts/{local_id}") and "358" not in page.url
            assert _serious(page) == []
            page.fill("#ce-name", "Matti Meikäläinen")
            page.fill("#ce-phones", "0407654321\n050 111 2222")
            page.select_option("#ce-lang", "sv")
            page.uncheck("#ce-call")
            page.click("section[aria-labelledby=edit-title] button[type=submit]")
            page.wait_for_url(served.url(f"/contacts/{local_id}"))
            assert page.locator("h1").inner_text() == "Matti Meikäläinen"
            assert page.input_value("#ce-phones") == "+358407654321\n+358501112222"
            assert not page.is_checked("#ce-call") and page.is_checked("#ce-sms")

            page.fill("#ce-phones", "0407654321\n12ab")  # refused by name, nothing changed
            page.click("section[aria-labelledby=edit-title] button[type=submit]")
            assert "12ab" in page.locator("[role=alert]").inner_text()
            assert page.input_value("#ce-phones") == "+358407654321\n+358501112222"

            page.goto(served.url("/contacts/c-1"))
            assert page.locator("#ce-name").count() == 0  # synced: no edit form
            assert "1950-02-03" in page.locator("dl").inner_text() and "diabetes" in page.locator("dl").inner_text()
            page.fill("#cn-note", "Hard of hearing: speak slowly. <script>window.pwned=1</script>")
            page.click("section[aria-labelledby=note-title] button[type=submit]")
            page.wait_for_url(served.url("/contacts/c-1"))
            assert "desk," in page.locator("section[aria-labelledby=note-title]").inner_text()
            assert _serious(page) == []
            shot(page, tmp_path, "contact.png", full_page=True)

            page.goto(served.url("/"))
            page.wait_for_selector("#live-status.fresh", timeout=10_000)
            assert served.web is not None
            served.web.ctx.bus.publish("caller_pop", {
                "call_id": 1, "number": "+358401234567", "number_absent_reason": None, "name_on_line": None,
                "contact": None, "at": utcnow(),
            })
            note = page.locator("#caller-pop [data-pop=note]")
            wait_until(note.is_visible, timeout=5)
            assert note.inner_text() == "Hard of hearing: speak slowly. <script>window.pwned=1</script>"
            assert page.evaluate("window.pwned") is None
            audit = served.run(lambda s: [r[0] for r in s.conn.execute("SELECT action FROM audit_log ORDER BY id")])
            assert "contact_edit" in audit and "contact_note" in audit
    finally:
        context.close()
