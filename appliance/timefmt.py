"""The one time format of the store and the envelopes: RFC 3339, UTC, milliseconds, ``Z``.

``utcnow()`` -> ``"2026-12-02T22:36:45.123Z"``; ``format_utc(dt)`` writes any aware
time in that form; ``parse_time(s)`` reads RFC 3339 with ``Z`` or an offset.

The rule for a time without an offset (``"2026-12-02T10:00:00"``): it is
**refused** (``ValidationError``). RFC 3339 requires an offset; reading such a
time as UTC (what the SMS outbox once did) or as local time (what a peer might
mean) would silently move a reminder by hours, so the sender must say which.
``format_utc`` refuses a naive ``datetime`` for the same reason. Text written
by this module sorts in time order as plain strings (the store compares text).
"""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.errors import ValidationError

__all__ = ["format_utc", "parse_time", "utcnow"]


def format_utc(moment: datetime) -> str:
    """``moment`` (aware) as RFC 3339 UTC with milliseconds and ``Z``."""
    if moment.tzinfo is None:
        raise ValidationError(f"a time without a zone cannot be written as UTC: {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow() -> str:
    """Now, as RFC 3339 UTC with milliseconds (the store's and the envelope's time format)."""
    return format_utc(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (``Z`` or an offset) as an aware datetime; no offset is refused."""
    if not isinstance(text, str):
        raise ValidationError(f"not an RFC 3339 time: {text!r}")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValidationError(f"RFC 3339 time without an offset (add Z or +hh:mm): {text!r}")
    return moment
