"""Follow-up schedule arithmetic: when reminder *i* falls due (pure; no store, no clock).

A schedule is "first after M days, then every N days, at most K times, at H:MM
local time". Reminder ``i`` (0-based) falls on the local date
``anchor + M + i*N`` at ``H:MM`` in ``site.timezone``. Due times are computed
from that local wall time each time they are needed, and only then turned into
UTC, so a daylight-saving change between two reminders keeps the local hour
(10:00 stays 10:00 local, the UTC instant moves by an hour).

Wall times that do not exist (the spring-forward gap) are taken after the gap;
wall times that exist twice (the autumn fall-back hour) are taken the first
time (``fold=0``).

Clock jumps: the next reminder after one sent at ``sent_at`` is never due
before the local date ``sent_at + N`` at ``H:MM`` (:func:`next_due`). So a
clock that jumps forward over several due times (or a box switched off for a
week) sends one reminder, then the rest N days apart: nothing is flooded and
nothing is skipped. A clock that jumps backwards only makes the wait longer;
the reminder counter is advanced in the same transaction as the SMS is queued,
so nothing is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.errors import ValidationError

DAY_S = 86400
MAX_DAYS = 3650  # first_after_days / every_days: ten years is already absurd for a reminder
MAX_TIMES = 100
CHANNELS = ("sms", "call")  # a schedule's reminders are SMS, or follow-up calls the desk makes


@dataclass(frozen=True)
class Schedule:
    """First after ``first_after_days``, then every ``every_days``, ``max_times`` in all, at ``hour:minute``."""

    first_after_days: int
    every_days: int
    max_times: int
    hour: int = 10
    minute: int = 0

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Schedule:
        """From a downlink ``schedule`` object or a config table; ValidationError names the field."""
        if not isinstance(data, dict):
            raise ValidationError("schedule: expected an object")
        known = {"first_after_days", "every_days", "max_times", "hour", "minute"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(f"schedule: unknown fields {', '.join(unknown)}")
        values: dict[str, int] = {}
        limits = {
            "first_after_days": (0, MAX_DAYS),
            "every_days": (1, MAX_DAYS),
            "max_times": (1, MAX_TIMES),
            "hour": (0, 23),
            "minute": (0, 59),
        }
        defaults = {"every_days": 1, "hour": 10, "minute": 0}
        for name, (lo, hi) in limits.items():
            if name not in data:
                if name in defaults:
                    values[name] = defaults[name]
                    continue
                raise ValidationError(f"schedule: {name} is required")
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValidationError(f"schedule: {name} must be an integer {lo}-{hi}, got {value!r}")
            values[name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, int]:
        return {
            "first_after_days": self.first_after_days,
            "every_days": self.every_days,
            "max_times": self.max_times,
            "hour": self.hour,
            "minute": self.minute,
        }

    def day_offset(self, index: int) -> int:
        """Days from the anchor date to reminder ``index`` (0-based)."""
        return self.first_after_days + index * self.every_days


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``day at`` in ``zone`` (gap: after it; repeated hour: first)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    moment = aware.astimezone(UTC)
    # In the spring-forward gap, fold=0 reads the time with the offset before the change, which
    # lands after the gap: 03:30 that does not exist becomes 04:30 local. That is what we want.
    return moment


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def scheduled_at(
    schedule: Schedule, anchor: date, index: int, zone: ZoneInfo, *, created: datetime | None = None,
    day_seconds: int = DAY_S,
) -> datetime:
    """UTC time of reminder ``index`` from the local anchor date.

    ``day_seconds`` other than 86400 compresses days for demos and tests: reminder
    ``i`` is then ``created + (M + i*N) * day_seconds``, the hour ignored.
    """
    if day_seconds != DAY_S:
        if created is None:
            raise ValueError("a compressed schedule needs its creation time")
        return created.astimezone(UTC) + timedelta(seconds=schedule.day_offset(index) * day_seconds)
    day = anchor + timedelta(days=schedule.day_offset(index))
    return local_to_utc(day, time(schedule.hour, schedule.minute), zone)


def next_due(
    schedule: Schedule, anchor: date, index: int, zone: ZoneInfo, *, sent_at: datetime | None,
    created: datetime | None = None, day_seconds: int = DAY_S,
) -> datetime:
    """When reminder ``index`` may go: its scheduled time, but not within N days of the last one sent."""
    due = scheduled_at(schedule, anchor, index, zone, created=created, day_seconds=day_seconds)
    if sent_at is None:
        return due
    if day_seconds != DAY_S:
        earliest = sent_at.astimezone(UTC) + timedelta(seconds=schedule.every_days * day_seconds)
    else:
        day = local_date(sent_at, zone) + timedelta(days=schedule.every_days)
        earliest = local_to_utc(day, time(schedule.hour, schedule.minute), zone)
    return max(due, earliest)


DEFAULT_REMINDER_TEMPLATE = "followup_reminder"


def template_schedule(entry: dict[str, Any]) -> tuple[Schedule, str]:
    """A ``[followups.templates.<name>]`` table as (schedule, reminder template name).

    The table may also say ``channel = "call"`` with ``survey_id`` (the department's
    question template, a survey for the desk): then each reminder is a follow-up call.
    """
    fields = dict(entry)
    reminder = fields.pop("reminder", DEFAULT_REMINDER_TEMPLATE)
    if not isinstance(reminder, str) or not reminder:
        raise ValidationError("reminder: expected a template name")
    template_channel(fields)
    fields.pop("channel", None)
    fields.pop("survey_id", None)
    return Schedule.from_data(fields), reminder


def template_channel(entry: dict[str, Any]) -> str:
    """``sms`` or ``call`` for a configured template (a call needs ``survey_id``); ValidationError names the key."""
    channel = entry.get("channel", "sms")
    if channel not in CHANNELS:
        raise ValidationError(f"channel: expected one of {', '.join(CHANNELS)}, got {channel!r}")
    survey_id = entry.get("survey_id")
    if survey_id is not None and (not isinstance(survey_id, str) or not survey_id):
        raise ValidationError(f"survey_id: expected a survey id, got {survey_id!r}")
    if channel == "call" and survey_id is None:
        raise ValidationError("survey_id: a follow-up call needs the survey (channel desk) the call asks")
    return str(channel)


def valid_template_config(value: Any) -> bool:
    """True for ``{template name: {schedule fields, optional reminder}}`` (config check)."""
    if not isinstance(value, dict):
        return False
    try:
        for name, entry in value.items():
            if not isinstance(name, str) or not isinstance(entry, dict):
                return False
            template_schedule(entry)
    except ValidationError:
        return False
    return True
