"""The daily summary: the day's figures, the staff's language, once per local day whatever happens."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from appliance.complaints import apply_update, open_complaint
from appliance.store.db import Store
from appliance.summary import daily
from appliance.summary.figures import day_bounds, day_figures, summary_text
from appliance.surveys import answer, apply_survey, finish, start_session
from appliance.timefmt import format_utc
from tests.workflows.sched_support import events, outbox

STAFF_FI, STAFF_ZH = "+358405550001", "+358405550002"


def _call(store: Store, direction: str, started: datetime, outcome: str, keys: list[str] | None = None) -> None:
    with store.transaction():
        store.conn.execute(
            "INSERT INTO calls(direction, number, started_at, ended_at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (direction, "+358401234567", format_utc(started), format_utc(started + timedelta(minutes=1)), outcome,
             json.dumps({"keys": keys or []})),
        )


def _sms(store: Store, status: str, parts: int, at: datetime, box: str = "outbox") -> None:
    stamp = format_utc(at)
    with store.transaction():
        store.conn.execute(
            "INSERT INTO sms_messages(box, number, text, status, parts, sent_at, created_at, updated_at) "
            "VALUES (?, '+358401234567', 'x', ?, ?, ?, ?, ?)",
            (box, status, parts, stamp if status in ("sent", "delivered") else None, stamp, stamp),
        )


def _day_of_traffic(store: Store, today: datetime) -> None:
    yesterday = today - timedelta(days=1)
    _call(store, "in", today.replace(hour=8), "missed")
    _call(store, "in", today.replace(hour=9), "menu", ["1"])
    _call(store, "in", today.replace(hour=9, minute=30), "voicemail", ["2", "#"])
    _call(store, "in", today.replace(hour=10), "answered")
    _call(store, "out", today.replace(hour=11), "answered")  # outgoing: not in the figures
    _call(store, "in", yesterday.replace(hour=12), "missed")  # yesterday: not in today's figures
    _sms(store, "delivered", 1, today.replace(hour=8))
    _sms(store, "sent", 2, today.replace(hour=9))
    _sms(store, "failed", 1, today.replace(hour=10))
    _sms(store, "sent", 1, yesterday.replace(hour=10))
    _sms(store, "received", 1, today.replace(hour=10), box="inbox")
    with store.transaction():
        first = open_complaint(store, channel="desk", text="Waited an hour", anonymous=True)
        open_complaint(store, channel="desk", text="Rude reply", anonymous=True)
        apply_update(store, {"complaint_id": first.complaint_id, "status": "closed", "outcome": "Sorry"}, "e1")
        apply_survey(store, {"survey_id": "S", "version": 1, "channels": ["desk"],
                             "questions": [{"id": "q1", "kind": "scale", "text": "How was it?"}]})
    for score in ("4", "5"):
        session = start_session(store, "S", "desk", language="en")
        answer(store, session.session_id, score)
        finish(store, session.session_id, True)


def test_the_days_figures(store: Store) -> None:
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _day_of_traffic(store, today)
    f = day_figures(store, today.date(), "UTC", price_per_part=0.07)
    assert f["calls"] == {"in": 4, "missed": 1, "answered": 3,
                          "by_outcome": {"answered": 1, "menu": 1, "voicemail": 1}, "by_menu_key": {"1": 1, "2": 1}}
    assert f["sms"] == {"sent": 2, "parts": 3, "failed": 1, "received": 1, "cost": 0.21}
    assert f["complaints"] == {"opened": 2, "closed": 1}
    assert f["surveys"] == {"responses": 2, "mean_score": 4.5}


def test_the_summary_in_each_staff_language(store: Store) -> None:
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _day_of_traffic(store, today)
    f = day_figures(store, today.date(), "UTC", price_per_part=0.07)
    d = today.date().isoformat()
    assert summary_text(f, "en", "Lab 3") == (
        f"Lab 3 {d}: calls 4 (answered 3, missed 1, menu 1:1 2:1). SMS sent 2, failed 1, cost 0.21. "
        "Complaints opened 2, closed 1. Survey responses 2, mean score 4.5.")
    assert summary_text(f, "fi", "Lab 3") == (
        f"Lab 3 {d}: puhelut 4 (vastattu 3, vastaamatta 1, valikko 1:1 2:1). Tekstiviestejä lähetetty 2, "
        "epäonnistui 1, hinta 0,21. Valituksia avattu 2, suljettu 1. Kyselyvastauksia 2, keskiarvo 4,5.")
    assert "Klagomål öppnade 2, stängda 1" in summary_text(f, "sv", "Lab 3")
    assert summary_text(f, "zh", "Lab 3").startswith(f"Lab 3 {d}\uff1a来电4个\uff08接听3\uff0c未接1")
    assert summary_text(f, "de", "Lab 3") == summary_text(f, "en", "Lab 3")  # unknown: English

    settings = daily.SummarySettings(timezone="UTC", time="00:00", recipients=((STAFF_FI, "fi"), (STAFF_ZH, "zh")),
                                     price_per_part=0.07, lab_name="Lab 3")
    sent = daily.send_due_summary(store, settings)
    assert sent is not None
    by_number = {m["number"]: m for m in outbox(store) if m["number"].startswith("+3584055")}
    assert by_number[STAFF_FI]["text"] == summary_text(f, "fi", "Lab 3")
    assert by_number[STAFF_ZH]["text"] == summary_text(f, "zh", "Lab 3")
    [event] = events(store, "daily_summary")
    assert event["calls"] == f["calls"] and event["sms"] == f["sms"] and event["sms_to_staff"] == 2


def test_once_per_local_day_across_restarts_and_clock_changes(tmp_path: Path) -> None:
    path = tmp_path / "appliance.db"
    settings = daily.SummarySettings(timezone="Europe/Helsinki", time="18:00", recipients=((STAFF_FI, "fi"),),
                                     lab_name="Lab 3")
    store = Store.open(path)
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 14, 59, tzinfo=UTC)) is None  # 17:59
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 15, 0, tzinfo=UTC)) is not None  # 18:00
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 15, 1, tzinfo=UTC)) is None
    store.close()
    store = Store.open(path)  # restarted the same evening
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 20, 0, tzinfo=UTC)) is None  # 23:00
    # the clock is set back an hour across 18:00: still one summary for 4 May
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 14, 30, tzinfo=UTC)) is None
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 15, 30, tzinfo=UTC)) is None
    # 21:30 UTC is 00:30 on 5 May in Helsinki: 5 May's summary is not due before 18:00 local
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 4, 21, 30, tzinfo=UTC)) is None
    assert daily.send_due_summary(store, settings, datetime(2026, 5, 5, 15, 0, tzinfo=UTC)) is not None
    assert [s["day"] for s in daily.sent_summaries(store)] == ["2026-05-05", "2026-05-04"]
    assert len([m for m in outbox(store) if m["number"] == STAFF_FI]) == 2
    assert daily.next_summary_at(settings, datetime(2026, 5, 5, 16, 0, tzinfo=UTC)) == datetime(
        2026, 5, 6, 15, 0, tzinfo=UTC)
    store.close()


def test_a_dst_day_has_23_or_25_hours() -> None:
    def hours(day: date) -> float:
        start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in day_bounds(day, "Europe/Helsinki"))
        return (end - start).total_seconds() / 3600

    assert hours(date(2026, 3, 29)) == 23
    assert hours(date(2026, 10, 25)) == 25
    assert hours(date(2026, 5, 4)) == 24


def test_an_opted_out_staff_number_gets_nothing(store: Store) -> None:
    from appliance.consent import set_sms_consent

    with store.transaction():
        set_sms_consent(store, STAFF_FI, False, source="sms_keyword", word="STOP")
    before = len(outbox(store))
    settings = daily.SummarySettings(timezone="UTC", time="00:00", recipients=((STAFF_FI, "fi"),), lab_name="Lab")
    figures = daily.send_due_summary(store, settings)
    assert figures is not None and figures["sms_to_staff"] == 0
    assert len(outbox(store)) == before
