"""Recordings (consent, notice, retention, disk bound), the bounded queues, dial jobs and call-backs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from appliance.calls import jobs
from appliance.calls.recordings import Recordings
from appliance.contacts import apply_contact
from appliance.dsp import wav
from appliance.errors import QueueFull, StoreFull
from appliance.line.base import EVENT_QUEUE_BOUND, EventKind, LineEvent
from appliance.store.db import Store
from tests.calls.conftest import call_rig, run


def test_recordings_keep_retention_and_size_bound_oldest_calls_first(tmp_path: Path) -> None:
    rec = Recordings(tmp_path, retention_days=1, max_bytes=100_000, min_free_bytes=0)
    old_call = Path(rec.save(b"\1\0" * 8000, "call-1"))
    msg = Path(rec.save(b"\1\0" * 8000, "vm-2", keep=True))
    two_days = time.time() - 2 * 86400
    os.utime(old_call, (two_days, two_days))
    os.utime(msg, (two_days, two_days))  # messages are not deleted for age
    newer = Path(rec.save(b"\1\0" * 8000, "call-3"))
    assert not old_call.exists() and msg.exists() and newer.exists()
    # over the bound: the oldest call recording goes before any message
    big = Path(rec.save(b"\1\0" * 40000, "call-4"))
    assert not newer.exists() and msg.exists() and big.exists()
    assert rec.usage() <= 100_000
    with pytest.raises(StoreFull):
        rec.save(b"\0" * 200_000, "call-5")  # larger than the whole bound: refused, nothing filled
    _, rate = wav.read_pcm(big)
    assert rate == 8000


def test_recordings_never_take_the_disk_under_the_floor(tmp_path: Path) -> None:
    rec = Recordings(tmp_path, max_bytes=1 << 40, min_free_bytes=1 << 60)  # the disk is always "too full"
    with pytest.raises(StoreFull):
        rec.save(b"\0" * 1000, "call-1")
    assert not list(tmp_path.rglob("*.wav"))


def _contact(store: Store, cid: str, number: str, recording: bool) -> None:
    store.call(apply_contact, store, {"contact_id": cid, "version": 1, "contact": {  # the rig's parts run
        "name": cid, "phones": [number], "language": "en",
        "consents": {"sms": True, "call": True, "recording": recording}}}, "FI")


def test_calls_are_recorded_only_with_consent_after_the_notice(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, record_calls="true") as rig:
            _contact(rig.store, "yes", "+358401234567", True)
            _contact(rig.store, "no", "+358501234567", False)
            script = [["wait", 4.0], ["keys", "1"], ["wait", 1.0], ["speech", 2.0], ["hangup", "event"]]
            row = await rig.incoming("0401234567", script=script)
            assert row["recording"] and Path(row["recording"]).parent.name == "calls"
            pcm, _ = wav.read_pcm(row["recording"])
            assert len(pcm) / 16000 > 3.0
            assert row["keys"] == "1"
            events = rig.store.call(lambda: [json.loads(r[0]) for r in rig.store.conn.execute(
                "SELECT data FROM events WHERE stream='call'")])
            assert events[0]["recording"] == row["recording"]
            row = await rig.incoming("0501234567", script=script)
            assert row["recording"] is None and row["detail"]["recording_skipped"] == "no_consent"
            row = await rig.incoming("0441234567", script=script)  # unknown caller: after the notice
            assert row["recording"]

    run(main())


def test_calls_inbox_is_bounded_and_drops_audio_events_first(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            calls = rig.calls
            ring = LineEvent(EventKind.RING, 0.0)
            calls._inbox.clear()
            calls.on_line_event(ring)
            for i in range(EVENT_QUEUE_BOUND + 10):
                calls.on_line_event(LineEvent(EventKind.DTMF, float(i), "dsp", {"digit": "5"}))
            assert len(calls._inbox) == EVENT_QUEUE_BOUND and calls.inbox_dropped == 11
            assert calls._inbox[0].kind == EventKind.RING  # the ring was kept, key reports dropped

    run(main())


def test_dial_jobs_bounded_and_call_backs_report_on_call_request(store: Store) -> None:
    for _ in range(jobs.MAX_QUEUED_JOBS):
        jobs.queue_dial(store, ["+358401234567"])
    with pytest.raises(QueueFull):
        jobs.queue_dial(store, ["+358401234567"])
    store.conn.execute("UPDATE call_jobs SET status = 'done'")
    now = "2026-12-02T10:00:00.000Z"
    store.conn.execute("INSERT INTO notification_requests(notification_id, channel, contact_id, recipient, status, "
                       "envelope_id, created_at) VALUES ('n-1', 'call', 'c-1', '+358401234567', 'pending', 'e', ?)",
                       (now,))
    store.conn.execute("INSERT INTO call_requests(notification_id, contact_id, number, language, text, status, "
                       "created_at, updated_at) VALUES ('n-1', 'c-1', '+358401234567', 'fi', 'Hei', 'pending', ?, ?)",
                       (now, now))
    (cb,) = jobs.pending_callbacks(store)
    assert cb["notification_id"] == "n-1" and cb["number"] == "+358401234567"
    job_id = jobs.queue_callback(store, "n-1")
    assert jobs.pending_callbacks(store) == []
    job = jobs.claim_next(store)
    assert job is not None and job.job_id == job_id and job.notification_id == "n-1"
    jobs.add_attempt(store, job_id, 42)
    jobs.finish_job(store, job, "no_answer")
    (data,) = [json.loads(r[0]) for r in store.conn.execute("SELECT data FROM events WHERE stream='call_request'")]
    assert data == {"notification_id": "n-1", "status": "failed", "outcome": "no_answer", "contact_id": "c-1",
                    "call_ids": [42]}
    assert jobs.request_for(store, "n-1") == {"text": "Hei", "language": "fi", "survey_id": None}
