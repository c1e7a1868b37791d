"""Follow-up calls: schedules whose channel is a call (intake, due list, attempts, stops, config templates)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ValidationError
from appliance.followups import followups as fu
from appliance.followups.intake import after_notification
from appliance.followups.schedule import Schedule, template_channel, template_schedule, valid_template_config
from appliance.store.db import Store
from appliance.surveys import engine
from appliance.sync.downlink import DownlinkApplier, Incoming
from sync.envelope import Topics, encode, make
from tests.workflows.sched_support import add_contact, events, followup_settings, notification_settings, outbox, utc

DESK_SURVEY = {
    "survey_id": "cardio-discharge", "version": 1, "title": "After discharge (cardiology)", "channels": ["desk"],
    "questions": [
        {"id": "pain", "kind": "scale", "text": {"en": "Any chest pain? 1 none - 5 severe"}},
        {"id": "meds", "kind": "yes_no", "text": {"en": "Taking the medicines?"}},
    ],
}
SMS_SURVEY = {**DESK_SURVEY, "survey_id": "sms-only", "channels": ["sms"]}
SCHEDULE = {"first_after_days": 2, "every_days": 3, "max_times": 3, "hour": 10}
T0 = utc("2026-03-02 09:00")  # 11:00 in Helsinki, outside the quiet hours


def _apply(store: Store, stream: str, data: dict[str, Any], **fkw: Any) -> str:
    applier = DownlinkApplier(store, Topics("lab/v1", "s1"), notification_settings(), 65536,
                              followup_settings=followup_settings(**fkw))
    env = make(stream, "s1", 1, data)
    [outcome] = applier.apply_batch([Incoming(f"lab/v1/s1/down/{stream}", encode(env), 1, 1, 1)]).outcomes
    return str(outcome)


def _call(notification_id: str = "F-1", **extra: Any) -> dict[str, Any]:
    return {"notification_id": notification_id, "contact_id": "C-1", "channel": "call", "survey_id": DESK_SURVEY[
        "survey_id"], "schedule": SCHEDULE, **extra}


@pytest.fixture
def seeded(store: Store) -> Store:
    add_contact(store, "C-1", "Aino Virtanen", ["+358401111111"])
    with store.transaction():
        engine.apply_survey(store, DESK_SURVEY)
        engine.apply_survey(store, SMS_SURVEY)
    return store


def test_a_call_schedule_needs_a_desk_survey_and_good_values(seeded: Store) -> None:
    store = seeded
    cases = [
        ({k: v for k, v in _call("B-1").items() if k != "survey_id"}, "survey_id: a follow-up call needs survey_id"),
        (_call("B-2", survey_id="nope"), "survey_id: unknown survey 'nope'"),
        (_call("B-3", survey_id="sms-only"), "survey_id: survey 'sms-only' is not for the desk"),
        (_call("B-4", schedule={**SCHEDULE, "max_times": 0}), "max_times"),
        (_call("B-5", schedule={**SCHEDULE, "hour": 25}), "hour"),
        (_call("B-6", channel="fax"), "channel"),
    ]
    for data, _ in cases:
        assert _apply(store, "notifications", data) == "refused", data
    reasons = [e["reason"] for e in events(store, "error")]
    assert len(reasons) == len(cases)
    for reason, (_, expected) in zip(reasons, cases, strict=True):
        assert expected in reason, (reason, expected)
    assert store.conn.execute("SELECT COUNT(*) FROM followups").fetchone()[0] == 0

    assert _apply(store, "notifications", _call("F-1")) == "scheduled"
    [made] = fu.list_followups(store)
    assert (made.channel, made.survey_id, made.text, made.status) == ("call", "cardio-discharge", "", "active")
    assert events(store, "followup")[-1] == {**events(store, "followup")[-1], "status": "scheduled",
                                             "channel": "call", "survey_id": "cardio-discharge"}


def test_a_contact_without_call_consent_is_refused_on_the_call_request_stream(seeded: Store) -> None:
    with seeded.transaction():
        seeded.conn.execute("UPDATE contacts SET consent_call = 0 WHERE contact_id = 'C-1'")
    assert _apply(seeded, "notifications", _call("F-9")) == "refused"
    assert events(seeded, "call_request")[-1] == {"notification_id": "F-9", "status": "failed",
                                                  "reason": "no_consent", "contact_id": "C-1"}
    assert events(seeded, "sms_status") == []


def test_call_due_times_are_the_sms_reminder_times(seeded: Store) -> None:
    """One calculator: a call schedule and an SMS schedule made alike fall due alike, attempt after attempt."""
    store, settings = seeded, followup_settings()
    common = {"number": "+358401111111", "language": "fi", "schedule": Schedule(2, 3, 3, 10), "contact_id": "C-1",
              "now": T0}
    sms = fu.create_followup(store, settings, followup_id="S", text="Muistutus", **common)
    call = fu.create_followup(store, settings, followup_id="C", text="", channel="call", survey_id="cardio-discharge",
                              **common)
    assert sms is not None and call is not None and sms.next_due_at == call.next_due_at == "2026-03-04T08:00:00.000Z"
    due = utc("2026-03-04 08:00")
    assert fu.due_calls(store, due - timedelta(seconds=1)) == []
    assert [c["followup_id"] for c in fu.due_calls(store, due)] == ["C"]
    [done] = fu.run_due(store, settings, due)  # the SMS reminder only: a call is never sent
    assert done["followup_id"] == "S" and len(outbox(store)) == 1
    result = fu.record_call_outcome(store, settings, "C", "no_answer", staff="desk", now=due)
    assert result["next_due_at"] == fu.get_followup(store, "S").next_due_at == "2026-03-07T08:00:00.000Z"  # type: ignore[union-attr]


def test_the_scheduler_does_not_wait_on_a_due_call(seeded: Store) -> None:
    store, settings = seeded, followup_settings()
    fu.create_followup(store, settings, followup_id="C", number="+358401111111", language="fi", text="",
                       schedule=Schedule(0, 1, 2), channel="call", survey_id="cardio-discharge", now=T0,
                       expires_at="2026-03-10T00:00:00.000Z")
    assert fu.next_due_time(store) == utc("2026-03-10 00:00")  # its expiry, not its (past) due time
    assert fu.run_due(store, settings, utc("2026-03-05 00:00")) == []
    assert fu.run_due(store, settings, utc("2026-03-10 00:00")) == [
        {"followup_id": "C", "action": "stopped", "reason": "expired"}]
    assert fu.next_due_time(store) is None and fu.due_calls(store, utc("2026-03-10 00:00")) == []


def _made(store: Store, fid: str, max_times: int = 3) -> None:
    fu.create_followup(store, followup_settings(), followup_id=fid, number="+358401111111", language="fi",
                       text="Soita", schedule=Schedule(0, 2, max_times, 10), contact_id="C-1", channel="call",
                       survey_id="cardio-discharge", now=T0)


def test_attempt_outcomes_move_the_schedule(seeded: Store) -> None:
    store, settings = seeded, followup_settings()
    for fid in ("A", "D", "K"):
        _made(store, fid, max_times=2)
    [row] = [c for c in fu.due_calls(store, T0) if c["followup_id"] == "A"]
    assert row == {**row, "name": "Aino Virtanen", "number": "+358401111111", "language": "fi", "attempt": 1,
                   "max_times": 2, "survey_title": "After discharge (cardiology)", "text": "Soita"}

    busy = fu.record_call_outcome(store, settings, "A", "busy", staff="maija", now=T0)
    assert busy == {**busy, "n": 1, "status": "active"} and busy["next_due_at"] > "2026-03-02"
    assert fu.due_calls(store, T0) and "A" not in [c["followup_id"] for c in fu.due_calls(store, T0)]
    answered = fu.record_call_outcome(store, settings, "A", "answered", staff="maija", now=utc("2026-03-04 08:00"))
    assert answered == {**answered, "n": 2, "status": "finished", "next_due_at": None}
    a = fu.get_followup(store, "A")
    assert a is not None and [(r["n"], r["outcome"]) for r in a.reminders] == [(1, "busy"), (2, "answered")]
    assert store.conn.execute("SELECT DISTINCT staff FROM followup_reminders").fetchall() == [("maija",)]

    declined = fu.record_call_outcome(store, settings, "D", "declined", staff="maija", now=T0)
    assert declined == {**declined, "status": "stopped", "stop_reason": "declined"}
    with pytest.raises(ValidationError, match="is stopped"):
        fu.record_call_outcome(store, settings, "D", "answered", staff="maija", now=T0)
    with pytest.raises(ValidationError, match="outcome: expected one of answered"):
        fu.record_call_outcome(store, settings, "K", "hung up", staff="maija", now=T0)
    with pytest.raises(ValidationError, match="no follow-up 'nope'"):
        fu.record_call_outcome(store, settings, "nope", "busy", staff="maija", now=T0)
    fu.create_followup(store, settings, followup_id="S", number="+358401111111", language="fi", text="x",
                       schedule=Schedule(0, 2, 2), now=T0)
    with pytest.raises(ValidationError, match="an SMS schedule, not a call"):
        fu.record_call_outcome(store, settings, "S", "busy", staff="maija", now=T0)
    assert [e["status"] for e in events(store, "followup") if e["followup_id"] == "A"] == [
        "scheduled", "called", "called", "finished"]
    assert [e.get("outcome") for e in events(store, "followup") if e["status"] == "called"] == [
        "busy", "answered", "declined"]


def test_a_complete_desk_survey_stops_the_schedule(seeded: Store) -> None:
    store, settings = seeded, followup_settings()
    _made(store, "A")
    session_id = fu.start_call_survey(store, "A")
    session = engine.get_session(store, session_id)
    assert session is not None
    assert (session.channel, session.contact_id, session.notification_id) == ("desk", "C-1", "A")
    _made(store, "other")
    with pytest.raises(ValidationError, match="was not taken for follow-up 'other'"):
        fu.record_call_outcome(store, settings, "other", "answered", staff="maija", session_id=session_id, now=T0)
    engine.answer(store, session_id, "2")
    engine.answer(store, session_id, "yes")
    [reply] = events(store, "survey_reply")
    assert reply == {**reply, "channel": "desk", "survey_id": "cardio-discharge", "notification_id": "A",
                     "complete": True, "answers": [{"question_id": "pain", "value": 2},
                                                   {"question_id": "meds", "value": True}]}
    done = fu.record_call_outcome(store, settings, "A", "answered", staff="maija", session_id=session_id, now=T0)
    assert done == {**done, "status": "stopped", "stop_reason": "survey_completed", "n": 1}


def test_scan_stops_a_number_only_call_schedule_when_its_desk_survey_completes(seeded: Store) -> None:
    store, settings = seeded, followup_settings()
    fu.create_followup(store, settings, followup_id="N", number="+358402222222", language="en", text="",
                       schedule=Schedule(0, 1, 3), channel="call", survey_id="cardio-discharge", now=T0)
    session_id = fu.start_call_survey(store, "N")
    engine.answer(store, session_id, "1")
    engine.answer(store, session_id, "no")
    assert events(store, "survey_reply")[0].get("contact_id") is None
    assert fu.scan_stops(store) == 1
    stopped = fu.get_followup(store, "N")
    assert stopped is not None and (stopped.status, stopped.stop_reason) == ("stopped", "survey_completed")
    with pytest.raises(ValidationError, match="is stopped"):
        fu.start_call_survey(store, "N")


def test_a_configured_call_template_per_department(seeded: Store) -> None:
    entry = {"channel": "call", "survey_id": "cardio-discharge", "first_after_days": 2, "every_days": 1,
             "max_times": 2, "hour": 11}
    assert template_channel(entry) == "call" and template_schedule(entry)[0] == Schedule(2, 1, 2, 11)
    assert valid_template_config({"results_ready": entry})
    assert not valid_template_config({"results_ready": {**entry, "survey_id": None}})
    assert not valid_template_config({"results_ready": {**entry, "channel": "letter"}})
    with pytest.raises(ValidationError, match="survey_id: a follow-up call needs"):
        template_channel({"channel": "call"})
    settings = followup_settings(templates={"results_ready": template_schedule(entry)},
                                 template_calls={"results_ready": "cardio-discharge"})
    data = {"notification_id": "R-1", "contact_id": "C-1", "channel": "sms", "template": "results_ready"}
    assert after_notification(seeded, notification_settings(), settings, data, "queued", now=T0)
    made = fu.get_followup(seeded, "tmpl:R-1")
    assert made is not None and (made.channel, made.survey_id, made.source) == ("call", "cardio-discharge", "template")
    assert made.next_due_at == "2026-03-04T09:00:00.000Z"


def test_the_due_list_is_bounded(seeded: Store) -> None:
    for i in range(5):
        _made(seeded, f"B{i}")
    assert [c["followup_id"] for c in fu.due_calls(seeded, T0, limit=3)] == ["B0", "B1", "B2"]


def test_schema_v12_up_and_back_down_keeps_the_sms_schedules(tmp_path: Path) -> None:
    import sqlite3

    from appliance.ops.migrate import apply_up_to, downgrade

    def shape(store: Store) -> list[Any]:
        conn = store.conn
        return [conn.execute("PRAGMA table_info(followups)").fetchall(),
                conn.execute("PRAGMA table_info(followup_reminders)").fetchall(),
                sorted(r[1] for r in conn.execute("PRAGMA index_list(followups)")),
                conn.execute("SELECT * FROM followups ORDER BY followup_id").fetchall(),
                conn.execute("SELECT * FROM followup_reminders ORDER BY followup_id, n").fetchall()]

    store = Store.open(tmp_path / "a.db", migrate=False)
    try:
        apply_up_to(store, 11)
        with store.transaction():
            store.conn.execute(
                "INSERT INTO followups(followup_id, source, number, language, text, schedule, anchor_date, "
                "status, created_at, updated_at) VALUES ('S', 'central', '+358401111111', 'fi', 'x', '{}', "
                "'2026-03-02', 'active', '2026-03-02T09:00:00.000Z', '2026-03-02T09:00:00.000Z')")
            store.conn.execute("INSERT INTO followup_reminders(followup_id, n, due_at, done_at, outcome) "
                               "VALUES ('S', 1, '2026-03-02T09:00:00.000Z', '2026-03-02T09:00:00.000Z', 'queued')")
        before = shape(store)
        apply_up_to(store, 12)
        assert store.conn.execute("SELECT channel FROM followups").fetchall() == [("sms",)]
        with store.transaction():
            engine.apply_survey(store, DESK_SURVEY)
        _made(store, "C")
        fu.record_call_outcome(store, followup_settings(), "C", "busy", staff="maija", now=T0)
        downgrade(store, 11)
        assert store.schema_version == 11 and shape(store) == before
        with pytest.raises(sqlite3.IntegrityError):  # v11's outcomes again
            store.conn.execute("INSERT INTO followup_reminders(followup_id, n, due_at, done_at, outcome) "
                               "VALUES ('S', 2, 'x', 'x', 'answered')")
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()


def test_call_work_stops_when_the_contact_withdraws_call_consent_or_is_deleted(seeded: Store) -> None:
    """Consent is checked when a call schedule or a call request arrives, and again when it changes."""
    from appliance.calls import jobs

    store = seeded
    add_contact(store, "C-2", "Eero Ek", ["+358402222222"])
    assert _apply(store, "notifications", _call("F-1")) == "scheduled"
    assert _apply(store, "notifications", {**_call("F-2"), "contact_id": "C-2"}) == "scheduled"
    for rid, cid in (("R-1", "C-1"), ("R-2", "C-2")):
        assert _apply(store, "notifications", {"notification_id": rid, "contact_id": cid, "channel": "call",
                                               "text": "Soittakaa meille"}) == "pending"
    due = utc("2099-01-01 08:00")
    assert len(fu.due_calls(store, due)) == 2 and len(jobs.pending_callbacks(store)) == 2

    withdrawn = {"contact_id": "C-1", "version": 2, "contact": {
        "name": "Aino Virtanen", "phones": ["+358401111111"], "language": "fi",
        "consents": {"sms": True, "call": False, "recording": False}}}
    assert _apply(store, "contacts", withdrawn) == "applied"
    assert _apply(store, "contacts", {"contact_id": "C-2", "version": 2, "deleted": True}) == "applied"
    # the desk's lists drop them at once, before the scheduler's next scan
    assert fu.due_calls(store, due) == [] and jobs.pending_callbacks(store) == []
    with pytest.raises(ValueError, match="no pending call request 'R-1'"):
        jobs.queue_callback(store, "R-1")

    fu.scan_stops(store)
    assert {f.followup_id: (f.status, f.stop_reason) for f in fu.list_followups(store)} == {
        "F-1": ("stopped", "no_consent"), "F-2": ("stopped", "contact_deleted")}
    reports = {e["notification_id"]: e for e in events(store, "call_request") if e["status"] == "failed"}
    assert reports == {
        "R-1": {"notification_id": "R-1", "status": "failed", "reason": "no_consent", "contact_id": "C-1"},
        "R-2": {"notification_id": "R-2", "status": "failed", "reason": "contact_deleted", "contact_id": "C-2"},
    }
    stopped = [e for e in events(store, "followup") if e["status"] == "stopped"]
    assert sorted((e["followup_id"], e["reason"]) for e in stopped) == [("F-1", "no_consent"),
                                                                        ("F-2", "contact_deleted")]
    assert fu.scan_stops(store) == 0  # once
    assert store.conn.execute("SELECT COUNT(*) FROM call_jobs").fetchone()[0] == 0  # nothing was dialled
