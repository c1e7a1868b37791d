"""The central's store: idempotent by id, watermarks stop at gaps; SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.central.db import StoredEvent, open_db
from tests.sync.conftest import postgres_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    with postgres_schema_url(request.getfixturevalue("postgres_base")) as url:
        yield url


def ev(seq: int, stream: str = "sms_in", site: str = "s1", event_id: str | None = None) -> StoredEvent:
    return StoredEvent(event_id or f"{site}-{stream}-{seq}", site, stream, seq, "2026-11-22T03:00:00.000Z", {"n": seq})


def test_duplicates_are_stored_once_and_the_watermark_stops_at_a_gap(db_url: str) -> None:
    db = open_db(db_url)
    try:
        assert db.store_events([ev(1), ev(2), ev(4), ev(5)]) == 4
        assert db.advance_watermarks([("s1", "sms_in")]) == {("s1", "sms_in"): 2}
        assert db.store_events([ev(2), ev(4)]) == 0, "the same ids again are duplicates"
        assert db.store_events([ev(2, event_id="other-id")]) == 0, "a second event for a taken seq is refused"
        (row,) = db.stats()
        assert (row["events"], row["max_seq"], row["watermark"], row["missing"]) == (4, 5, 2, 1)
        assert db.store_events([ev(3)]) == 1
        assert db.advance_watermarks([("s1", "sms_in")]) == {("s1", "sms_in"): 5}
        assert db.next_down_seqs("s1", "ack", 3) == [1, 2, 3]
        assert db.next_down_seqs("s1", "ack") == [4]
        assert [e.seq for e in db.events("s1", "sms_in")] == [1, 2, 3, 4, 5]
    finally:
        db.close()


def test_a_bad_url_is_a_usage_error() -> None:
    from appliance.errors import UsageError

    with pytest.raises(UsageError, match="sqlite:///PATH or postgresql://"):
        open_db("mysql://nope")


def test_the_watermark_steps_over_a_range_a_restore_skipped(db_url: str) -> None:
    db = open_db(db_url)
    try:
        # the appliance sent 1..6, was restored from a backup taken at 4, numbers on after 6
        assert db.store_events([ev(s) for s in range(1, 7)]) == 6
        restored = StoredEvent("r1", "s1", "store_restored", 1, "2026-11-22T04:00:00.000Z",
                               {"generation": 1, "skipped": {"sms_in": {"after": 4, "resume_after": 6}}})
        db.store_events([restored, ev(7, event_id="new-7"), ev(8, event_id="new-8")])
        assert db.advance_watermarks([("s1", "sms_in")]) == {("s1", "sms_in"): 8}
        # a restore that lost what the central never had: 1..3 stored, skipped 3 -> 1000003
        db.store_events([ev(s, stream="call") for s in (1, 2, 3)])
        db.store_events([StoredEvent("r2", "s1", "store_restored", 2, "2026-11-22T05:00:00.000Z",
                                     {"skipped": {"call": {"after": 3, "resume_after": 1000003}}}),
                         ev(1000004, stream="call")])
        assert db.advance_watermarks([("s1", "call")]) == {("s1", "call"): 1000004}
        assert db.store_events([ev(9)]) == 1 and db.store_events([ev(11)]) == 1
        assert db.advance_watermarks([("s1", "sms_in")]) == {("s1", "sms_in"): 9}  # a real gap still stops it
    finally:
        db.close()
