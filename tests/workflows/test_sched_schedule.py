"""Follow-up schedule arithmetic: local wall time across DST, gaps, repeated hours, clock jumps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.errors import ValidationError
from appliance.followups.schedule import Schedule, next_due, scheduled_at, valid_template_config

HEL = ZoneInfo("Europe/Helsinki")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_reminders_keep_the_local_hour_across_spring_forward() -> None:
    s = Schedule(first_after_days=1, every_days=1, max_times=3, hour=10)
    anchor = date(2026, 3, 27)  # EET (+02); the clocks go forward on Sunday 29 March at 03:00
    got = [scheduled_at(s, anchor, i, HEL) for i in range(3)]
    assert got == [utc("2026-03-28T08:00"), utc("2026-03-29T07:00"), utc("2026-03-30T07:00")]
    assert all(g.astimezone(HEL).hour == 10 for g in got)


def test_reminders_keep_the_local_hour_across_fall_back() -> None:
    s = Schedule(first_after_days=0, every_days=1, max_times=2, hour=10)
    got = [scheduled_at(s, date(2026, 10, 24), i, HEL) for i in range(2)]
    assert got == [utc("2026-10-24T07:00"), utc("2026-10-25T08:00")]  # EEST then EET
    assert all(g.astimezone(HEL).hour == 10 for g in got)


def test_a_wall_time_in_the_spring_gap_goes_after_it() -> None:
    s = Schedule(first_after_days=0, every_days=1, max_times=1, hour=3, minute=30)
    due = scheduled_at(s, date(2026, 3, 29), 0, HEL)  # 03:30 does not exist that night
    assert due == utc("2026-03-29T01:30")
    assert due.astimezone(HEL).strftime("%H:%M") == "04:30"


def test_a_repeated_wall_time_is_taken_the_first_time() -> None:
    s = Schedule(first_after_days=0, every_days=1, max_times=1, hour=3, minute=30)
    due = scheduled_at(s, date(2026, 10, 25), 0, HEL)  # 03:30 happens twice that night
    assert due == utc("2026-10-25T00:30")  # the first, still in summer time (+03)


def test_after_a_late_reminder_the_next_keeps_its_spacing() -> None:
    """A clock jump forward (or a box off for a week) sends one reminder, then N days apart."""
    s = Schedule(first_after_days=1, every_days=2, max_times=4, hour=9)
    anchor = date(2026, 5, 1)
    sent_late = utc("2026-05-10T12:00")  # reminders 0..3 were all "due" by then
    nxt = next_due(s, anchor, 1, HEL, sent_at=sent_late)
    assert nxt == utc("2026-05-12T06:00")  # 2 local days after the one sent, at 09:00 local
    on_time = next_due(s, anchor, 1, HEL, sent_at=utc("2026-05-02T06:00"))
    assert on_time == scheduled_at(s, anchor, 1, HEL) == utc("2026-05-04T06:00")


def test_compressed_days_for_demos() -> None:
    s = Schedule(first_after_days=1, every_days=2, max_times=3, hour=10)
    created = utc("2026-05-01T12:00")
    assert scheduled_at(s, date(2026, 5, 1), 2, HEL, created=created, day_seconds=10) == utc("2026-05-01T12:00:50")


@pytest.mark.parametrize(
    "data",
    [
        {"every_days": 1, "max_times": 1},  # first_after_days missing
        {"first_after_days": 1, "every_days": 0, "max_times": 1},
        {"first_after_days": 1, "every_days": 1, "max_times": 0},
        {"first_after_days": 1, "every_days": 1, "max_times": 1, "hour": 24},
        {"first_after_days": 1, "every_days": 1, "max_times": 1, "hour": True},
        {"first_after_days": 1, "every_days": 1, "max_times": 1, "weekday": 3},
    ],
)
def test_bad_schedules_are_refused_naming_the_field(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="schedule"):
        Schedule.from_data(data)


def test_template_config_check() -> None:
    good = {"results_ready": {"first_after_days": 14, "every_days": 7, "max_times": 3, "hour": 10}}
    assert valid_template_config(good)
    assert valid_template_config({"results_ready": {**good["results_ready"], "reminder": "followup_reminder"}})
    assert not valid_template_config({"results_ready": {"every_days": 7}})
    assert not valid_template_config(["results_ready"])
