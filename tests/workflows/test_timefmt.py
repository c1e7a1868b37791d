"""One time module: RFC 3339 UTC with milliseconds; a time without an offset is refused everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from appliance.errors import ValidationError
from appliance.sms.outbox import normalise_time
from appliance.store import db
from appliance.timefmt import format_utc, parse_time, utcnow
from sync import envelope


def test_format_and_parse() -> None:
    moment = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=timezone(timedelta(hours=3)))
    assert format_utc(moment) == "2026-03-29T00:30:15.123Z"
    assert parse_time("2026-03-29T00:30:15.123Z") == moment.replace(microsecond=123000)
    assert parse_time("2026-03-29T03:30:15+03:00") == moment.replace(microsecond=0)
    assert len(utcnow()) == len("2026-03-29T00:30:15.123Z") and utcnow().endswith("Z")
    assert sorted([format_utc(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)) for s in (3, 1, 2)]) == [
        format_utc(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)) for s in (1, 2, 3)
    ]


@pytest.mark.parametrize("text", ["2026-03-29T03:30:00", "2026-03-29 03:30", "yesterday", ""])
def test_no_offset_or_garbage_is_refused_by_every_reader(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_time(text)
    with pytest.raises(ValidationError):
        envelope.parse_time(text)
    with pytest.raises(ValueError):
        normalise_time(text, "not_before") if text else normalise_time(" ", "not_before")
    with pytest.raises(ValidationError):
        format_utc(datetime(2026, 3, 29, 3, 30))


def test_the_old_names_are_the_same_functions() -> None:
    assert db.utcnow is utcnow and envelope.parse_time is parse_time
    assert envelope.utc_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
    assert normalise_time("2026-01-01T02:00:00+02:00", "x") == "2026-01-01T00:00:00.000Z"
