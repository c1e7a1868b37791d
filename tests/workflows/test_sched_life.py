"""A follow-up schedule through its whole life: from the central, across a restart and DST, until it stops."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.errors import ValidationError
from appliance.followups import followups as fu
from appliance.followups.intake import accept_scheduled_notification, after_notification, apply_followup_update
from appliance.followups.schedule import Schedule
from appliance.store.db import Store
from tests.workflows.sched_support import (
    add_contact,
    events,
    followup_settings,
    inbound,
    notification_settings,
    outbox,
    utc,
)

HEL = ZoneInfo("Europe/Helsinki")
ANNA = "+358401111111"


def schedule_request(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "notification_id": "N-1",
        "contact_id": "C-1",
        "channel": "sms",
        "template": "followup_reminder",
        "schedule": {"first_after_days": 1, "every_days": 1, "max_times": 3, "hour": 10},
    }
    data.update(overrides)
    return data


def accept(store: Store, data: dict[str, Any], now: str) -> str:
    with store.transaction():
        return accept_scheduled_notification(
            store, notification_settings(), followup_settings(), data, "env-" + data["notification_id"], utc(now)
        )


def due(store: Store, now: str | datetime) -> list[dict[str, Any]]:
    return fu.run_due(store, followup_settings(), utc(now) if isinstance(now, str) else now)


@pytest.fixture
def anna(store: Store) -> Store:
    add_contact(store, "C-1", "Anna Virtanen", [ANNA], language="fi")
    return store


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # spring forward on Sun 29 March 2026: 10:00 local is 08:00Z before, 07:00Z after
        ("2026-03-27T10:00", ["2026-03-28T08:00", "2026-03-29T07:00", "2026-03-30T07:00"]),
        # fall back on Sun 25 October 2026: 10:00 local is 07:00Z before, 08:00Z after
        ("2026-10-23T10:00", ["2026-10-24T07:00", "2026-10-25T08:00", "2026-10-26T08:00"]),
    ],
    ids=["spring", "autumn"],
)
def test_whole_life_across_a_restart_and_a_dst_change(tmp_path: Path, received: str, expected: list[str]) -> None:
    path = tmp_path / "appliance.db"
    store = Store.open(path)
    add_contact(store, "C-1", "Anna Virtanen", [ANNA], language="fi")
    assert accept(store, schedule_request(), received) == "scheduled"
    assert accept(store, schedule_request(), received) == "duplicate"  # the central sent it again
    [made] = fu.list_followups(store, contact_id="C-1")
    assert made.next_due_at == expected[0] + ":00.000Z"
    for n, at in enumerate(expected, start=1):
        if n == 2:  # the daemon restarts between two reminders (and recomputes due times at start)
            store.close()
            store = Store.open(path)
            assert fu.recompute_due(store, followup_settings()) == 0
        assert due(store, utc(at) - timedelta(hours=1)) == []  # an hour early: nothing
        [done] = due(store, at)
        assert done["action"] == "queued" and done["n"] == n
        assert due(store, at) == []  # the same moment again: nothing twice
    sms = outbox(store)
    assert [m["notification_id"] for m in sms] == ["N-1#1", "N-1#2", "N-1#3"]
    assert all(m["number"] == ANNA and m["text"].startswith("Lab 3: muistutus") for m in sms)  # in Finnish
    # every reminder went at 10:00 local, whatever the offset was that day
    reminders = fu.list_followups(store)[0].reminders
    sent_local = [utc(r["done_at"][:19]).astimezone(HEL).strftime("%H:%M") for r in reminders]
    assert sent_local == ["10:00", "10:00", "10:00"]
    [final] = fu.list_followups(store, contact_id="C-1")
    assert (final.status, final.sent_count, final.next_due_at) == ("finished", 3, None)
    statuses = [e["status"] for e in events(store, "followup")]
    assert statuses == ["scheduled", "reminded", "reminded", "reminded", "finished"]
    store.close()


def test_a_clock_jumping_forward_sends_one_then_spaces_the_rest(anna: Store) -> None:
    data = schedule_request(schedule={"first_after_days": 1, "every_days": 2, "max_times": 3, "hour": 9})
    accept(anna, data, "2026-05-01T08:00")  # reminders due 2, 4, 6 May at 09:00 local (06:00Z)
    # the clock jumps to 20 May (or the box was off): one reminder, not three
    assert [d["action"] for d in due(anna, "2026-05-20T12:00")] == ["queued"]
    assert due(anna, "2026-05-20T12:01") == []
    assert due(anna, "2026-05-22T05:59") == []
    assert [d["n"] for d in due(anna, "2026-05-22T06:00")] == [2]  # two local days later, at 09:00
    assert [d["n"] for d in due(anna, "2026-05-24T06:00")] == [3]
    assert len(outbox(anna)) == 3


def test_a_clock_set_back_sends_nothing_twice(anna: Store) -> None:
    accept(anna, schedule_request(), "2026-05-01T08:00")
    assert [d["n"] for d in due(anna, "2026-05-02T07:00")] == [1]
    # NTP sets the clock back two days: nothing is due, nothing is repeated
    assert due(anna, "2026-04-30T07:00") == []
    assert due(anna, "2026-05-02T07:00") == []
    assert [d["n"] for d in due(anna, "2026-05-03T07:00")] == [2]
    assert [m["notification_id"] for m in outbox(anna)] == ["N-1#1", "N-1#2"]


def test_a_reminder_never_falls_in_the_quiet_hours(anna: Store) -> None:
    data = schedule_request(schedule={"first_after_days": 1, "every_days": 1, "max_times": 2, "hour": 22})
    accept(anna, data, "2026-05-01T08:00")
    [made] = fu.list_followups(anna)
    assert made.next_due_at == "2026-05-03T05:00:00.000Z"  # 22:00 is quiet (21-08): 08:00 local next morning
    # a clock that lands inside the quiet hours when something is due defers it, sends nothing
    with anna.transaction():
        anna.conn.execute("UPDATE followups SET next_due_at = '2026-05-02T19:00:00.000Z'")
    [d] = due(anna, "2026-05-02T19:30")  # 22:30 local
    assert d["action"] == "deferred" and d["until"] == "2026-05-03T05:00:00.000Z"
    assert outbox(anna) == []


def test_a_reply_from_the_contact_stops_it(anna: Store) -> None:
    inbound(anna, ANNA, "an old message", "2026-04-30T10:00:00.000Z")  # before the schedule: does not stop it
    accept(anna, schedule_request(), "2026-05-01T08:00")
    assert fu.scan_stops(anna) == 0
    assert len(due(anna, "2026-05-02T07:00")) == 1
    inbound(anna, ANNA, "Kiitos, varasin ajan", "2026-05-02T09:00:00.000Z")
    assert fu.scan_stops(anna) == 1
    assert fu.scan_stops(anna) == 0  # the cursor moved on
    [f] = fu.list_followups(anna)
    assert (f.status, f.stop_reason, f.sent_count) == ("stopped", "replied", 1)
    assert due(anna, "2026-05-10T07:00") == []
    assert events(anna, "followup")[-1] == {
        "followup_id": "N-1", "contact_id": "C-1", "status": "stopped", "reason": "replied", "sent": 1
    }


def test_the_central_stops_it(anna: Store) -> None:
    accept(anna, schedule_request(), "2026-05-01T08:00")
    with anna.transaction():
        assert apply_followup_update(anna, {"action": "stop", "followup_id": "N-1"}) == "applied"
        assert apply_followup_update(anna, {"action": "stop", "followup_id": "N-1"}) == "ignored"
    assert fu.list_followups(anna)[0].stop_reason == "central"
    assert due(anna, "2026-05-10T07:00") == []


def test_a_completed_survey_stops_the_schedule_that_names_it(anna: Store) -> None:
    accept(anna, schedule_request(survey_id="S-1"), "2026-05-01T08:00")
    accept(anna, schedule_request(notification_id="N-2"), "2026-05-01T08:00")  # names no survey
    from appliance.store.outbox import EventOutbox

    with anna.transaction():
        EventOutbox(anna).append("survey_reply", {"survey_id": "S-1", "contact_id": "C-1", "complete": False,
                                                  "channel": "sms", "answers": []})
    assert fu.scan_stops(anna) == 0  # an unfinished survey stops nothing
    with anna.transaction():
        EventOutbox(anna).append("survey_reply", {"survey_id": "S-1", "contact_id": "C-1", "complete": True,
                                                  "channel": "sms", "answers": [{"question_id": "q1", "value": 5}]})
    assert fu.scan_stops(anna) == 1
    by_id = {f.followup_id: f for f in fu.list_followups(anna)}
    assert by_id["N-1"].stop_reason == "survey_completed"
    assert by_id["N-2"].status == "active"


def test_refused_like_any_notification(store: Store) -> None:
    add_contact(store, "C-9", "No Consent", ["+358409999999"], consent_sms=False)
    assert accept(store, schedule_request(contact_id="C-9"), "2026-05-01T08:00") == "refused"
    assert events(store, "sms_status") == [{"notification_id": "N-1", "status": "failed", "reason": "no_consent",
                                            "contact_id": "C-9"}]
    assert fu.list_followups(store) == []
    with pytest.raises(ValidationError, match="max_times"):
        accept(store, schedule_request(schedule={"first_after_days": 1, "max_times": 0}), "2026-05-01T08:00")


def test_a_configured_template_starts_a_schedule(anna: Store) -> None:
    settings = followup_settings(templates={"results_ready": (Schedule(14, 7, 2, 10), "followup_reminder")})
    data = {"notification_id": "N-5", "contact_id": "C-1", "channel": "sms", "template": "results_ready"}
    with anna.transaction():
        assert after_notification(anna, notification_settings(), settings, data, "queued", utc("2026-05-01T08:00"))
        assert not after_notification(anna, notification_settings(), settings, {**data, "template": "education"},
                                      "queued", utc("2026-05-01T08:00"))
    [f] = fu.list_followups(anna)
    assert (f.followup_id, f.source, f.next_due_at) == ("tmpl:N-5", "template", "2026-05-15T07:00:00.000Z")
    with anna.transaction():  # the central stopping N-5 stops the schedule that came with it
        assert apply_followup_update(anna, {"action": "stop", "followup_id": "N-5"}) == "applied"
    assert fu.list_followups(anna)[0].status == "stopped"
