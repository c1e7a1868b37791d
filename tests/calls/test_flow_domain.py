"""The call flow with the workflows domain: contacts popped, voice messages filed as complaints,
the keypad survey, outbound calls to a two-number contact, call-backs for the central's requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from appliance.calls import jobs
from appliance.complaints import list_complaints
from appliance.contacts import apply_contact
from appliance.notifications.requests import accept_request
from appliance.store.db import Store
from appliance.surveys import apply_survey
from tests.calls.conftest import call_rig, run
from tests.workflows.sched_support import notification_settings


def _contact(store: Store, cid: str, name: str, phones: list[str], language: str = "fi",
             recording: bool = False) -> None:
    store.call(apply_contact, store, {"contact_id": cid, "version": 1, "contact": {
        "name": name, "phones": phones, "language": language,
        "consents": {"sms": True, "call": True, "recording": recording}}}, "FI")


def _events(store: Store, stream: str) -> list[dict[str, Any]]:
    # under the store's lock: the rig's parts use the connection on the store thread meanwhile
    return store.call(lambda: [json.loads(r[0]) for r in store.conn.execute(
        "SELECT data FROM events WHERE stream = ? ORDER BY seq", (stream,))])


@pytest.mark.parametrize("standard", ["bell202", "v23", "dtmf"])
def test_caller_id_of_each_standard_pops_the_right_contact(tmp_path: Path, prompts_dir: Path, standard: str) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, rings_before_answer="0") as rig:
            _contact(rig.store, "c-anna", "Anna Virtanen", ["+358401234567"])
            _contact(rig.store, "c-bo", "Bo Ek", ["+358501112223"], "sv")
            row = await rig.incoming("0501112223", standard=standard, max_rings=2)
            (pop,) = rig.events("caller_pop")
            assert pop["contact"]["contact_id"] == "c-bo" and pop["contact"]["name"] == "Bo Ek"
            assert row["contact_id"] == "c-bo"
            assert _events(rig.store, "call")[0]["contact_id"] == "c-bo"

    run(main())


@pytest.mark.parametrize("anonymous", [False, True])
def test_voicemail_is_filed_as_a_voice_complaint(tmp_path: Path, prompts_dir: Path, anonymous: bool) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            _contact(rig.store, "c-anna", "Anna Virtanen", ["+358401234567"], "en")
            choice = [["wait", 1.0], ["keys", "1"]] if anonymous else []
            script = [["wait", 1.0], ["keys", "2"], *choice, ["wait", 14.0], ["speech", 5.0], ["wait", 12.0],
                      ["hangup", "event"]]
            row = await rig.incoming("0401234567", script=script)
            assert row["outcome"] == "voicemail", row
            assert row["detail"]["voicemail_end"] == "silence"
            assert Path(row["recording"]).is_file()
            assert len(rig.store.call(list_complaints, rig.store)) == 1
            (event,) = _events(rig.store, "complaint")
            assert event["channel"] == "voice" and event["recording"] == row["recording"]
            assert event["anonymous"] is anonymous
            if anonymous:
                assert "number" not in event or event["number"] is None
                assert event.get("contact_id") is None
                assert row["keys"] == "21"
            else:
                assert event["contact_id"] == "c-anna" and event["number"] == "+358401234567"
            assert row["detail"]["complaint_id"] == event["complaint_id"]

    run(main())


SURVEY = {"survey_id": "s-1", "version": 1, "channels": ["call"], "active": True, "questions": [
    {"id": "q1", "kind": "scale", "text": {"en": "How satisfied were you?", "fi": "Kuinka tyytyväinen olit?"}},
    {"id": "q2", "kind": "yes_no", "text": "Would you recommend us?"},
    {"id": "q3", "kind": "text", "text": "Anything else?"},
]}


def test_keypad_survey_sends_one_survey_reply(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            apply_survey(rig.store, SURVEY)
            _contact(rig.store, "c-anna", "Anna Virtanen", ["+358401234567"], "fi")
            # the sim at speed 0 does not wait while a question is first spoken: speak them beforehand
            for q in SURVEY["questions"][:2]:
                text = q["text"] if isinstance(q["text"], str) else q["text"]["fi"]
                rig.calls.prompts.say(text, "fi")
            # 3 barges in; 4 barges into the intro... keys answer the scale (4) and yes/no (1)
            script = [["wait", 1.0], ["keys", "3"], ["wait", 1.0], ["keys", "4"], ["wait", 1.0], ["keys", "1"],
                      ["wait", 40.0], ["hangup", "event"]]
            row = await rig.incoming("0401234567", script=script)
            assert row["outcome"] == "survey" and row["keys"] == "341"
            (reply,) = _events(rig.store, "survey_reply")
            assert reply["channel"] == "call" and reply["contact_id"] == "c-anna" and reply["complete"] is True
            assert reply["answers"] == [{"question_id": "q1", "value": 4}, {"question_id": "q2", "value": True}]
            assert reply["language"] == "fi"

    run(main())


def test_no_active_survey_says_so_and_returns_to_the_menu(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            row = await rig.incoming("0401234567", script=[["wait", 1.0], ["keys", "3"], ["wait", 6.0],
                                                           ["hangup", "event"]])
            assert row["outcome"] == "menu" and _events(rig.store, "survey_reply") == []

    run(main())


def _call_request(store: Store, notification_id: str, **data: str) -> None:
    """Anna, and a ``channel: "call"`` notification for her as the downlink accepts it (a call request)."""
    _contact(store, "c-anna", "Anna Virtanen", ["+358401234567"], "fi")
    with store.transaction():
        accept_request(store, notification_settings(quiet_hours=""), {
            "notification_id": notification_id, "contact_id": "c-anna", "channel": "call", **data}, "env-1")


def test_a_call_request_called_back_reports_its_outcome_on_call_request(tmp_path: Path, prompts_dir: Path) -> None:
    """The desk's "Call back" on a central call request (/followups): the job carries the request, the
    sim callee answers, the request's text is spoken, and the outcome goes up on ``call_request``."""
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            store = rig.store  # touched on its own thread only (store.run): the parts are running

            await store.run(_call_request, store, "n-call", text="Tuloksesi ovat valmiit.")
            assert [r["notification_id"] for r in await store.run(jobs.pending_callbacks, store)] == ["n-call"]
            rig.sim.exchange.plan_dial("answered", number="0401234567", ring_s=2.0)
            job_id = await store.run(jobs.queue_callback, store, "n-call")
            ended = await rig.wait_bus("call_ended", lambda d: True, timeout=120)
            job = await rig.job_ended(job_id)
            assert (job.status, job.outcome, job.notification_id) == ("done", "answered", "n-call")
            assert job.attempts == [ended["call_id"]]
            reports = await store.run(_events, store, "call_request")
            assert [e["status"] for e in reports] == ["pending", "done"]
            assert reports[-1] == {
                "notification_id": "n-call", "status": "done", "outcome": "answered", "contact_id": "c-anna",
                "call_ids": [ended["call_id"]]}
            assert await store.run(jobs.pending_callbacks, store) == []  # off the desk's list
            assert rig.sim.exchange.last_dialed == "0401234567" and not rig.sim.exchange.appliance_off_hook

    run(main())


def test_a_call_request_with_a_survey_runs_it_on_the_keypad_when_called_back(tmp_path: Path, prompts_dir: Path) -> None:
    """INTERFACES §3: a call notification with ``survey_id`` runs that survey by phone, on the keypad; the
    reply carries the request's ``notification_id`` and the call-back's outcome goes up on ``call_request``."""
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            store = rig.store  # touched on its own thread only (store.run): the parts are running

            await store.run(apply_survey, store, {**SURVEY, "active": False})  # the request names it, not the menu
            await store.run(_call_request, store, "n-survey", text="Lyhyt kysely käynnistänne.", survey_id="s-1")
            rig.sim.exchange.plan_dial("answered", number="0401234567", ring_s=1.0)
            job_id = await store.run(jobs.queue_callback, store, "n-survey")
            await rig.wait_bus("line_state", lambda d: d.get("state") == "in_call", timeout=60)
            rig.sim.exchange.keys("4")  # typed ahead of the questions: each key answers the next one
            rig.sim.exchange.keys("1")
            job = await rig.job_ended(job_id)
            assert (job.status, job.outcome) == ("done", "answered")
            (reply,) = await store.run(_events, store, "survey_reply")
            assert reply == {**reply, "channel": "call", "survey_id": "s-1", "contact_id": "c-anna",
                             "notification_id": "n-survey", "complete": True, "language": "fi",
                             "answers": [{"question_id": "q1", "value": 4}, {"question_id": "q2", "value": True}]}
            assert (await store.run(_events, store, "call_request"))[-1]["status"] == "done"
            (outcome,) = [e["outcome"] for e in await store.run(_events, store, "call")]
            assert outcome == "answered"

    run(main())


@pytest.mark.parametrize(("plans", "outcomes"), [
    (["busy", "answered"], ["busy", "answered"]),
    (["no_answer", "busy"], ["no_answer", "busy"]),
])
def test_outbound_to_a_two_number_contact_tries_numbers_in_order(
        tmp_path: Path, prompts_dir: Path, plans: list[str], outcomes: list[str]) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, desk_wait_max="10") as rig:
            _contact(rig.store, "c-anna", "Anna Virtanen", ["+358401234567", "+358501234567"])
            rig.sim.exchange.plan_dial(plans[0], number="0401234567", ring_s=2.0)
            rig.sim.exchange.plan_dial(plans[1], number="0501234567", ring_s=2.0)
            job_id = await rig.store.run(lambda: jobs.queue_dial(rig.store, ["+358401234567", "+358501234567"],
                                                                  contact_id="c-anna"))
            await rig.wait_bus("call_ended", lambda d: True, timeout=120)
            job = await rig.job_ended(job_id)
            assert job.status == "done" and job.outcome == outcomes[-1]
            calls = [rig.store.call(lambda c=cid: rig.store.conn.execute(  # type: ignore[misc]
                "SELECT number, outcome, direction, contact_id FROM calls WHERE id = ?", (c,)).fetchone())
                for cid in job.attempts]
            assert [c[0] for c in calls] == ["+358401234567", "+358501234567"]
            assert [c[1] for c in calls] == outcomes and {c[2] for c in calls} == {"out"}
            assert [e["outcome"] for e in _events(rig.store, "call")] == outcomes
            assert rig.sim.exchange.last_dialed == "0501234567"
            assert not rig.sim.exchange.appliance_off_hook

    run(main())
