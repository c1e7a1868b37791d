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


def release_time(moment: datetime, window: str, timezone: str) -> datetime:
    """``moment`` itself, or the end of the quiet period it falls in (aware, UTC)."""
    parsed = parse_window(window)
    moment = moment.astimezone(UTC)
    if parsed is None:
        return moment
    start, end = parsed
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    if not _inside(local.timetz().replace(tzinfo=None), start, end):
        return moment
    day = local.date()
    if start > end and local.time() >= start:
        day = day + timedelta(days=1)  # evening part: quiet until tomorrow morning
    release = datetime.combine(day, end, tzinfo=zone)
    return release.astimezone(UTC)
