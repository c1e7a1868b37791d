"""The workflow pages: desk complaint, contacts with marks, call-backs with the desk survey form."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.contacts.store import create_local_contact
from appliance.store.db import Store, utcnow
from appliance.surveys.engine import apply_survey
from tests.web.harness import web_app

SURVEY = {
    "survey_id": "after-visit", "version": 1, "title": "After your visit", "channels": ["desk", "sms"],
    "questions": [
        {"id": "q1", "kind": "scale", "text": {"en": "How was the visit?"}, "min": 1, "max": 5},
        {"id": "q2", "kind": "yes_no", "text": {"en": "Would you come again?"}},
    ],
}


def _seed(store: Store) -> None:
    a = create_local_contact(store, "Aino Virtanen", ["+358401234567"], "fi")
    b = create_local_contact(store, "Aino Virtanen", ["+358409876543"], "fi")
    with store.transaction():
        store.conn.execute(
            "INSERT INTO sms_opt_outs(number, opted_out, word, changed_at) VALUES ('+358401234567', 1, 'STOP', ?)",
            (utcnow(),),
        )
        store.conn.execute(
            "INSERT OR IGNORE INTO contact_duplicates(contact_id, duplicate_of, reason, score, flagged_at) "
            "VALUES (?, ?, 'similar_name_birth_year', 0.99, ?)",
            (b.contact_id, a.contact_id, utcnow()),
        )
        store.conn.execute(
            "INSERT INTO calls(direction, number, started_at, outcome) VALUES ('in', '+358405550000', ?, 'missed')",
            (utcnow(),),
        )
    apply_survey(store, SURVEY)


def test_complaint_contacts_callbacks_and_a_desk_survey(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            await web.store.run(_seed, web.store)
            desk = await web.login("desk")
            token = await web.csrf(desk)

            resp = await desk.post("/complaints", data={
                "csrf_token": token, "text": "Waited <b>two</b> hours", "number": "", "anonymous": "1",
            })
            assert resp.status == 200
            page = await resp.text()
            assert "Waited &lt;b&gt;two&lt;/b&gt; hours" in page
            row = web.store.conn.execute("SELECT channel, anonymous, number, staff FROM complaints").fetchone()
            assert row == ("desk", 1, None, "desk")

            contacts = await (await desk.get("/contacts")).text()
            assert contacts.count("opted out") == 1 and "possible duplicate of" in contacts

            followups = await (await desk.get("/followups")).text()
            assert "+358405550000" in followups  # the missed call, with its call-back

            resp = await desk.post(
                "/survey/start", data={"csrf_token": token, "number": "+358405550000"}, allow_redirects=False
            )
            assert resp.status == 303
            url = resp.headers["Location"]
            assert re.fullmatch(r"/survey/\d+", url) and "358" not in url  # no number in the URL
            assert "How was the visit?" in await (await desk.get(url)).text()
            await desk.post(url, data={"csrf_token": token, "answer": "4"})
            assert "Would you come again?" in await (await desk.get(url)).text()
            await desk.post(url, data={"csrf_token": token, "answer": "1"})
            assert "The survey is finished" in await (await desk.get(url)).text()
            events = [r[0] for r in web.store.conn.execute("SELECT stream FROM events").fetchall()]
            assert "survey_reply" in events
            for unknown in ("999999", "x1"):  # a session that is not there: refused by name, nothing written
                resp = await desk.post(f"/survey/{unknown}", data={"csrf_token": token, "answer": "4"})
                assert resp.status == 404 and "no survey session" in await resp.text()
            assert "After your visit" in await (await desk.get("/surveys")).text()

    asyncio.run(main())


def test_message_search_by_number_or_words_keeps_numbers_out_of_urls(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            with web.store.transaction():
                for number, text in (("+358401234567", "results 12345 ready"), ("+358409999999", "other")):
                    web.store.conn.execute(
                        "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                        "VALUES ('inbox', ?, ?, 'received', ?, ?)", (number, text, utcnow(), utcnow()))
            desk = await web.login("desk")
            token = await web.csrf(desk)
            for query, expect in (("040 123 4567", "results 12345 ready"), ("results 12345", "results 12345 ready"),
                                  ("other", "other")):
                resp = await desk.post("/messages/search", data={"csrf_token": token, "box": "inbox", "q": query},
                                       allow_redirects=False)
                location = resp.headers["Location"]
                assert "123" not in location and "other" not in location
                page = await (await desk.get(location)).text()
                assert re.findall(r'class="sms-text">([^<]*)<', page) == [expect], query

    asyncio.run(main())


def test_a_follow_up_call_outcome_from_the_desk_needs_csrf_and_is_audited(tmp_path: Path) -> None:
    from appliance.followups.followups import FollowupSettings, create_followup
    from appliance.followups.schedule import Schedule

    def seed(store: Store) -> None:
        apply_survey(store, SURVEY)
        contact = create_local_contact(store, "Eero <i>Ek</i>", ["+358401112222"], "fi")
        create_followup(store, FollowupSettings(), followup_id="F-7", number="+358401112222", language="fi",
                        text="", schedule=Schedule(0, 1, 2), contact_id=contact.contact_id, channel="call",
                        survey_id="after-visit", now=datetime.now(UTC) - timedelta(days=2))  # due since yesterday

    async def main() -> None:
        async with web_app(tmp_path) as web:
            await web.store.run(seed, web.store)
            desk = await web.login("desk")
            token = await web.csrf(desk)
            page = await (await desk.get("/followups")).text()
            assert 'data-followup="F-7"' in page and "Eero &lt;i&gt;Ek&lt;/i&gt;" in page and "1 / 2" in page
            assert (await desk.post("/followups/outcome", data={"followup_id": "F-7", "outcome": "busy"})).status == 403
            bad = await desk.post("/followups/outcome", data={"csrf_token": token, "followup_id": "F-7",
                                                              "outcome": "later"})
            assert bad.status == 400 and "outcome: expected one of" in (await bad.json())["error"]
            resp = await desk.post("/followups/outcome", data={"csrf_token": token, "followup_id": "F-7",
                                                               "outcome": "busy"}, allow_redirects=False)
            assert resp.status in (302, 303) and resp.headers["Location"] == "/followups"
            row = web.store.conn.execute(
                "SELECT username, action, target, detail FROM audit_log WHERE action = 'followup_call'").fetchone()
            assert row == ("desk", "followup_call", "follow-up F-7", "attempt 1: busy; schedule active")
            assert 'data-followup="F-7"' not in await (await desk.get("/followups")).text()  # next one not due yet
            started = await desk.post("/survey/start", data={"csrf_token": token, "followup_id": "nope"})
            assert started.status == 409 and "no follow-up call 'nope'" in (await started.json())["error"]

            # the patient hangs up mid-survey: the form is stopped, the attempt recorded from the survey page
            resp = await desk.post("/survey/start", data={"csrf_token": token, "followup_id": "F-7"},
                                   allow_redirects=False)
            url = resp.headers["Location"]
            await desk.post(url, data={"csrf_token": token, "stop": "1"})
            page = await (await desk.get(url)).text()
            session_id = url.rsplit("/", 1)[1]
            assert 'action="/followups/outcome"' in page and f'name="session_id" value="{session_id}"' in page
            resp = await desk.post("/followups/outcome", data={"csrf_token": token, "followup_id": "F-7",
                                                               "outcome": "answered", "session_id": session_id})
            assert resp.status == 200
            details = [r[0] for r in web.store.conn.execute(
                "SELECT detail FROM audit_log WHERE action = 'followup_call' ORDER BY rowid")]
            assert details[-1] == "attempt 2: answered; schedule finished"  # the incomplete survey did not stop it
            reply = json.loads(web.store.conn.execute(
                "SELECT data FROM events WHERE stream = 'survey_reply'").fetchone()[0])
            assert reply == {**reply, "complete": False, "channel": "desk", "notification_id": "F-7"}

    asyncio.run(main())


def test_a_call_request_is_called_back_from_the_list_with_its_request(tmp_path: Path) -> None:
    from appliance.contacts import apply_contact
    from appliance.notifications.requests import accept_request
    from tests.workflows.sched_support import notification_settings

    settings = notification_settings(quiet_hours="")

    def seed(store: Store) -> None:
        apply_contact(store, {"contact_id": "c-1", "version": 1, "contact": {
            "name": "Eero Ek", "phones": ["040 111 2222"], "language": "fi",
            "consents": {"sms": True, "call": True, "recording": False}}}, "FI")
        with store.transaction():
            accept_request(store, settings, {"notification_id": "n-<7>", "contact_id": "c-1", "channel": "call",
                                             "text": "Tulokset <b>valmiit</b>"}, "env-1")

    for line, expect in (("none", 409), ("sim", 303)):
        async def main(line: str = line, expect: int = expect) -> None:
            async with web_app(tmp_path / line, APPLIANCE_LINE__DRIVER=line) as web:
                await web.store.run(seed, web.store)
                desk = await web.login("desk")
                token = await web.csrf(desk)
                page = await (await desk.get("/followups")).text()
                assert 'data-request="n-&lt;7&gt;"' in page and "Tulokset &lt;b&gt;valmiit&lt;/b&gt;" in page
                form = {"notification_id": "n-<7>"}
                assert (await desk.post("/followups/callback", data=form)).status == 403  # no CSRF token
                resp = await desk.post("/followups/callback", data={"csrf_token": token, **form},
                                       allow_redirects=False)
                assert resp.status == expect
                if line == "none":
                    assert "no phone line" in (await resp.json())["error"]
                    return
                assert resp.headers["Location"] == "/followups"
                row = web.store.conn.execute("SELECT numbers, notification_id, requested_by FROM call_jobs").fetchone()
                assert row == ('["+358401112222"]', "n-<7>", "call_request")
                audit = web.store.conn.execute(
                    "SELECT username, target FROM audit_log WHERE action = 'callback'").fetchone()
                assert audit[0] == "desk" and audit[1] == "call request n-<7>"
                assert 'data-request="n-&lt;7&gt;"' not in await (await desk.get("/followups")).text()
                again = await desk.post("/followups/callback", data={"csrf_token": token, **form})
                assert again.status == 409 and "no pending call request" in (await again.json())["error"]

        asyncio.run(main())
