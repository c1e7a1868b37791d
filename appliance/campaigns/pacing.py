"""How fast a campaign goes out (pure).

Pacing is done where campaign SMS enter the outbox, not in the modem: the
outbox is shared with notifications, and a campaign of 5,000 queued at once
would put every appointment change behind it for hours (a modem sends 6-30 SMS
a minute). So at most ``rate`` SMS *parts* a minute enter the outbox (a
3-part message costs 3), one message every ``parts * 60 / rate`` seconds, and
none while ``rate`` campaign messages still wait for the modem (a modem slower
than the configured rate slows the campaign instead of filling the queue).
The per-minute count is read back from the store, so a restart does not reset it.

Quiet hours: nothing is queued inside them, nor within ``QUIET_MARGIN_S``
before they start (what is queued then is still sent before they start).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from appliance.notifications.quiet_hours import release_time

QUIET_MARGIN_S = 120.0


def quiet_until(now: datetime, quiet_hours: str, timezone: str, margin_s: float = QUIET_MARGIN_S) -> datetime | None:
    """The end of the quiet hours when ``now`` is in them or ``margin_s`` before them; else None."""
    for probe in (now, now + timedelta(seconds=margin_s)):
        release = release_time(probe, quiet_hours, timezone)
        if release > probe:
            return release
    return None


def gap_after(parts: int, rate_per_minute: int) -> float:
    """Seconds to wait after queueing a message of ``parts`` parts."""
    return max(parts, 1) * 60.0 / rate_per_minute


def may_queue(parts_last_minute: int, outstanding: int, rate_per_minute: int) -> bool:
    """True when one more campaign message may enter the outbox now."""
    return parts_last_minute < rate_per_minute and outstanding < max(rate_per_minute, 1)
