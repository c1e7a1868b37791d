"""The caller pop in a real browser: a card within a second of the `caller_pop` bus event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from appliance.store.db import Store, utcnow
from tests.web.browser_util import login, shot, wait_until
from tests.web.harness import ServedWeb

pytestmark = pytest.mark.browser



def _seed(store: Store) -> None:
    with store.transaction():
        store.conn.execute(
            "INSERT INTO contacts(contact_id, version, name, language, updated_at) VALUES ('c-1', 1, ?, 'fi', ?)",
            ("Aino <b>Virtanen</b>", utcnow()),
        )
        store.conn.execute("INSERT INTO contact_phones VALUES ('c-1', 0, '+358401234567')")
        store.conn.execute(
            "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
            "VALUES ('outbox', '+358401234567', 'Your results are ready', 'queued', ?, ?)",
            (utcnow(), utcnow()),
        )
        store.conn.execute(
            "INSERT INTO calls(direction, number, started_at, outcome) VALUES ('in', '+358401234567', ?, 'missed')",
            (utcnow(),),
        )


def test_caller_pop_within_a_second_with_the_contact_and_escaped(tmp_path: Path, page: Any) -> None:
    with ServedWeb(tmp_path, APPLIANCE_SITE__NAME="Lab 7 reception") as served:
        served.run(_seed)
        login(page, served.url)
        page.wait_for_selector("#live-status.fresh", timeout=10_000)
        assert served.web is not None
        latencies = []
        for call_id, number in ((1, "+358401234567"), (2, "+358409999999")):
            published = time.monotonic()
            served.web.ctx.bus.publish("caller_pop", {
                "call_id": call_id, "number": number, "number_absent_reason": None,
                "name_on_line": "<img src=x onerror=window.pwned=1>", "contact": None, "at": utcnow(),
            })
            wait_until(lambda cid=call_id: page.evaluate(
                "(cid) => { const p = document.querySelector('#caller-pop');"
                " return !p.hidden && p.dataset.callId === String(cid); }", cid), timeout=5)
            latencies.append(time.monotonic() - published)
            if call_id == 1:
                pop = page.locator("#caller-pop")
                assert pop.locator("[data-pop=name]").inner_text() == "Aino <b>Virtanen</b>"  # shown as text
                assert "Your results are ready" in pop.locator("[data-pop=pending]").inner_text()
                assert not pop.locator("[data-pop=save-contact]").is_visible()  # a known contact
                assert "missed" in pop.locator("[data-pop=calls]").inner_text()
                assert "Aino <b>Virtanen</b>" in page.locator("#pop-announce[aria-live=assertive]").inner_text()
                shot(page, tmp_path, "caller-pop.png")
            else:
                pop = page.locator("#caller-pop")
                assert pop.locator("[data-pop=name]").inner_text() == "<img src=x onerror=window.pwned=1>"
                assert pop.locator("[data-pop=save-contact]").is_visible()  # unknown number
                assert pop.locator("button", has_text="Call back").is_visible()
        assert page.evaluate("window.pwned") is None
        assert max(latencies) < 1.0, latencies
        print(f"caller pop latency (bus -> card visible): {[round(x * 1000) for x in latencies]} ms")


def test_the_page_says_when_it_is_stale_and_reconnects_by_itself(tmp_path: Path, page: Any) -> None:
    with ServedWeb(tmp_path) as served:
        login(page, served.url)
        page.wait_for_selector("#live-status.fresh", timeout=10_000)
        assert served.web is not None and served.loop is not None
        stopping = served.web.service._stopping
        served.loop.call_soon_threadsafe(stopping.set)  # every live channel ends and none is served
        wait_until(lambda: page.locator("#live-status").inner_text().startswith("Not updating"), timeout=20)
        served.loop.call_soon_threadsafe(stopping.clear)
        wait_until(lambda: page.locator("#live-status").inner_text() == "Live", timeout=20)
        assert page.url == served.url("/")  # no reload
