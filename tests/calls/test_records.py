"""Call records: the row and its ``call`` event in one transaction; keys kept once; calls list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.calls.records import (
    MAX_KEYS,
    CallRecord,
    KeyLog,
    close_dangling,
    get_call,
    list_calls,
    open_call,
    record_call,
)
from appliance.store.db import Store
from tests.helpers import run_cli


def test_record_call_writes_row_and_event_together(store: Store) -> None:
    cid = open_call(store, "in", number="+358401234567", caller_name="ANNA", started_at="2026-12-02T10:00:00.000Z")
    assert get_call(store, cid)["ended_at"] is None  # current call visible
    rec = CallRecord(direction="in", started_at="2026-12-02T10:00:00.000Z", outcome="voicemail",
                     number="+358401234567", contact_id="c-1", keys="2#", recording="/x/rec.wav",
                     answered_at="2026-12-02T10:00:20.000Z")
    assert record_call(store, rec, cid) == cid
    row = get_call(store, cid)
    assert row["outcome"] == "voicemail" and row["keys"] == "2#" and row["recording"] == "/x/rec.wav"
    assert row["ended_at"]
    (data,) = [json.loads(r[0]) for r in store.conn.execute("SELECT data FROM events WHERE stream = 'call'")]
    assert data["call_id"] == cid and data["outcome"] == "voicemail" and data["keys"] == "2#"
    assert data["recording"] == "/x/rec.wav" and data["contact_id"] == "c-1" and data["direction"] == "in"


def test_failed_event_append_rolls_back_the_row(store: Store) -> None:
    rec = CallRecord(direction="in", started_at="2026-12-02T10:00:00.000Z", outcome="nonsense")
    with pytest.raises(ValueError, match="outcome"):
        record_call(store, rec)
    assert list_calls(store) == []
    store.conn.execute("DROP TABLE event_streams")  # the event cannot be written: the row must not stay
    rec = CallRecord(direction="in", started_at="2026-12-02T10:00:00.000Z", outcome="missed")
    with pytest.raises(Exception):  # noqa: B017 - any store error
        record_call(store, rec)
    assert list_calls(store) == []


def test_keylog_keeps_each_press_once() -> None:
    log = KeyLog()
    assert log.add("1", 10.00, "device")
    assert not log.add("1", 10.08, "dsp")  # the same press heard twice
    assert log.add("1", 10.30, "device")  # a second press of the same key
    assert not log.add("1", 10.36, "dsp")
    assert log.add("2", 10.40, "dsp")
    assert not log.add("2", 10.50, "device")
    assert log.add("2", 13.50, "dsp")  # far apart: a new press
    assert not log.add("x", 14.0, "dsp")
    assert log.keys == "1122"


def test_keylog_pairs_late_twins_by_order() -> None:
    """A half-duplex modem hands our DSP the audio late: both of "77" are reported by the
    device first, then by the DSP up to a second later; still two presses, not four."""
    log = KeyLog()
    assert log.add("7", 1.0, "device")
    assert log.add("7", 1.3, "device")
    assert not log.add("7", 1.9, "dsp")
    assert not log.add("7", 2.2, "dsp")
    assert log.add("7", 2.4, "dsp")  # a third press, heard by the DSP only
    assert log.keys == "777"


def test_keylog_is_bounded() -> None:
    log = KeyLog()
    for i in range(MAX_KEYS + 10):
        assert log.add("5", i * 1.0, "dsp")
    assert len(log.keys) == MAX_KEYS and log.dropped == 10


def test_close_dangling_ends_current_calls(store: Store) -> None:
    cid = open_call(store, "out", number="+358401234567")
    assert close_dangling(store) == 1
    assert get_call(store, cid)["outcome"] == "failed"
    assert close_dangling(store) == 0


def test_calls_list_cli_json(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "appliance.db")
    try:
        record_call(s, CallRecord(direction="in", started_at="2026-12-02T10:00:00.000Z", outcome="menu",
                                  number="+358401234567", keys="1*"))
        record_call(s, CallRecord(direction="out", started_at="2026-12-02T11:00:00.000Z", outcome="busy",
                                  number="+358501234567"))
    finally:
        s.close()
    out = run_cli(tmp_path, "calls", "list", "--json")
    assert out.returncode == 0, out.stderr
    calls = json.loads(out.stdout)
    assert [c["direction"] for c in calls] == ["out", "in"]
    for key in ("id", "direction", "number", "contact_id", "started_at", "ended_at", "outcome", "keys", "recording"):
        assert key in calls[0]
    assert calls[1]["keys"] == "1*"
    human = run_cli(tmp_path, "calls", "list")
    assert "keys 1*" in human.stdout and "busy" in human.stdout
