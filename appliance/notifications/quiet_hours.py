"""Quiet hours: local times when no SMS is sent; a message falls due at their end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.errors import ValidationError


def parse_window(text: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` as (start, end); ``""`` as None (no quiet hours)."""
    if not text:
        return None
    try:
        start_text, end_text = text.split("-")
        start = time.fromisoformat(start_text)
        end = time.fromisoformat(end_text)
    except ValueError:
        raise ValidationError(f"quiet hours {text!r}: expected HH:MM-HH:MM") from None
    return start, end


def _inside(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window crosses midnight


def _transition_between(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (lo, hi] whose UTC offset differs from lo's (to the second)."""
    offset = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def release_time(moment: datetime, window: str, timezone: str) -> datetime:
    """``moment`` itself, or the first instant after it whose local wall-clock time is outside
    the quiet window (aware, UTC).

    Across a daylight-saving change the wall clock jumps: a window end that does not exist
    that night (spring) releases at the jump; in the repeated hour (autumn) the second pass
    counts too, and a clock that falls back out of the window releases then. Computed by
    walking the local clock linearly between offset changes (never more than a few steps).
    """
    parsed = parse_window(window)
    moment = moment.astimezone(UTC)
    if parsed is None:
        return moment
    start, end = parsed
    zone = ZoneInfo(timezone)
    t = moment
    for _ in range(6):  # at most one offset change per step; real zones change at most twice a day
        local = t.astimezone(zone)
        if not _inside(local.time().replace(tzinfo=None), start, end):
            return t
        day = local.date()
        if start > end and local.time() >= start:
            day = day + timedelta(days=1)  # evening part: quiet until tomorrow morning
        naive_now = local.replace(tzinfo=None)
        candidate = t + (datetime.combine(day, end) - naive_now)  # the wall clock, if no change comes
        if candidate.astimezone(zone).utcoffset() == local.utcoffset():
            return candidate
        t = _transition_between(t, candidate, zone)
    return t
