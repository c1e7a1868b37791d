"""A follow-up call in a real browser against the real daemon: from the downlink to a survey_reply."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from appliance.followups.followups import FollowupSettings
from appliance.store.db import Store
from appliance.sync.downlink import DownlinkApplier, Incoming
from sync.envelope import Topics, encode, make
from tests.helpers import Daemon, run_cli
from tests.web.browser_util import login, shot, wait_until
from tests.web.harness import PASSWORD
from tests.workflows.sched_support import notification_settings

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "assets" / "axe.min.js"
SITE = "lab-7"
SURVEY = {
    "survey_id": "cardio-discharge", "version": 1, "title": "After discharge (cardiology)", "channels": ["desk"],
    "questions": [
        {"id": "pain", "kind": "scale", "text": {"en": "Any chest pain? 1 none, 5 severe", "fi": "Rintakipua?"}},
        {"id": "meds", "kind": "yes_no", "text": {"en": "Taking the new medicines?", "fi": "Otatko lääkkeet?"}},
    ],
}
CONTACT = {"contact_id": "c-aino", "version": 1, "contact": {
    "name": "Aino <b>Virtanen</b>", "phones": ["040 123 4567"], "language": "fi",
    "consents": {"sms": True, "call": True, "recording": False}}}
FOLLOWUP = {"notification_id": "fu-cardio-1", "contact_id": "c-aino", "channel": "call",
            "survey_id": "cardio-discharge", "text": "Discharged Monday; ask about the new medicines",
            "schedule": {"first_after_days": 1, "every_days": 1, "max_times": 2}}


def _downlink(db: Path, *messages: tuple[str, dict[str, Any]]) -> list[str]:
    """The downlink's own applier on the daemon's store (what the MQTT part calls for each batch)."""
    store = Store.open(db)
    try:
        # one schedule day is one second here, as in the daemon's config below: due a second after it lands
        applier = DownlinkApplier(store, Topics("lab/v1", SITE), notification_settings(quiet_hours=""), 65536,
                                  followup_settings=FollowupSettings(timezone="Europe/Helsinki", day_seconds=1))
        batch = [Incoming(f"lab/v1/{SITE}/down/{stream}", encode(make(stream, SITE, i + 1, data)), 1, 1, i + 1)
                 for i, (stream, data) in enumerate(messages)]
        return [str(o) for o in applier.apply_batch(batch).outcomes]
    finally:
        store.close()


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _axe(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_a_follow_up_call_from_the_downlink_to_a_desk_survey_reply(tmp_path: Path, browser: Any) -> None:
    for name, role in (("tech", "technician"), ("maija", "desk")):
        added = run_cli(tmp_path, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    daemon = Daemon(tmp_path, APPLIANCE_SITE__ID=SITE, APPLIANCE_SITE__TIMEZONE="Europe/Helsinki",
                    APPLIANCE_NOTIFICATIONS__QUIET_HOURS="", APPLIANCE_FOLLOWUPS__DAY_SECONDS="1").start()
    db = tmp_path / "appliance.db"
    # axe is injected as a script: the page's own CSP would (rightly) refuse it
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768})
    try:
        daemon.wait_healthy()
        assert _downlink(db, ("surveys", SURVEY), ("contacts", CONTACT), ("notifications", FOLLOWUP)) == [
            "applied", "applied", "scheduled"]
        assert _rows(db, "SELECT COUNT(*) FROM sms_messages") == [(0,)]  # a call schedule sends no SMS

        page = context.new_page()
        login(page, daemon.url, "maija")
        card = page.locator("li.followup-call[data-followup='fu-cardio-1']")

        def shown() -> bool:
            page.goto(daemon.url("/followups"))
            return card.count() == 1

        wait_until(shown, timeout=30, step=0.5)  # due one schedule "day" (a second) after it came down
        text = card.inner_text()
        for expected in ("Aino <b>Virtanen</b>", "+358401234567", "fi", "After discharge (cardiology)", "1 / 2",
                         "ask about the new medicines"):
            assert expected in text, (expected, text)
        assert _axe(page) == []
        shot(page, tmp_path, "followups.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
        assert card.locator("button.start-survey").is_visible()
        shot(page, tmp_path, "followups-phone.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 768})

        # click-to-dial: a call job for the simulated line, dialed by the daemon's calls part
        card.get_by_role("button", name="Call").click()
        page.wait_for_url(daemon.url("/followups"))
        [(job_id, numbers, requested_by)] = _rows(db, "SELECT id, numbers, requested_by FROM call_jobs")
        assert json.loads(numbers) == ["+358401234567"] and requested_by == "web:maija"
        wait_until(lambda: _rows(db, "SELECT attempts FROM call_jobs WHERE id = ?", job_id)[0][0] != "[]",
                   timeout=120, step=0.5)  # the calls part dials once its voice prompts are built
        page.goto(daemon.url("/followups"))  # the card says how the dial of this attempt is going
        assert card.locator(".last-call").inner_text().split()[0] in ("Calling", "Answered", "No", "Busy", "Call")

        # while the call runs: the department's survey, for this patient
        card.locator("button.start-survey").click()
        page.wait_for_url("**/survey/*")
        assert "358" not in page.url  # no number in the URL
        assert "Aino <b>Virtanen</b>" in page.locator(".call-context").inner_text()
        assert page.locator("legend").inner_text() == "Rintakipua?"  # in the patient's language
        assert _axe(page) == []
        page.get_by_label("2", exact=True).check()
        page.locator("#main").get_by_role("button", name="Save").click()
        assert page.locator("legend").inner_text() == "Otatko lääkkeet?"
        page.get_by_label("Yes").check()
        page.locator("#main").get_by_role("button", name="Save").click()
        page.wait_for_selector(".call-recorded")
        assert "Answered" in page.locator(".call-recorded").inner_text()

        # up as a survey_reply like the SMS and keypad ones; the schedule ends with the complete survey
        replies = [json.loads(r[0]) for r in _rows(db, "SELECT data FROM events WHERE stream = 'survey_reply'")]
        assert len(replies) == 1
        assert replies[0] == {**replies[0], "channel": "desk", "survey_id": "cardio-discharge",
                              "contact_id": "c-aino", "notification_id": "fu-cardio-1", "complete": True,
                              "answers": [{"question_id": "pain", "value": 2}, {"question_id": "meds", "value": True}]}
        assert _rows(db, "SELECT status, stop_reason, sent_count FROM followups") == [
            ("stopped", "survey_completed", 1)]
        assert _rows(db, "SELECT outcome, staff FROM followup_reminders") == [("answered", "maija")]
        page.goto(daemon.url("/followups"))
        assert card.count() == 0
        actions = {r[0] for r in _rows(db, "SELECT action FROM audit_log WHERE username = 'maija'")}
        assert {"dial", "survey_start", "survey_done"} <= actions
    finally:
        context.close()
        daemon.kill()
