"""The workflows part of the daemon sends follow-up reminders on time; batches are bounded."""

from __future__ import annotations

import asyncio
import json

import pytest

from appliance.config import Config, FollowupsConfig, NotificationsConfig, SiteConfig
from appliance.daemon.context import AppContext
from appliance.followups import followups as fu
from appliance.followups.schedule import Schedule
from appliance.followups.service import WorkflowService
from appliance.store.db import Store
from tests.helpers import run_cli
from tests.workflows.sched_support import add_contact, followup_settings, outbox, run_async, utc


async def _run_for(ctx: AppContext, seconds: float) -> None:
    task = asyncio.create_task(WorkflowService(ctx).run())
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_daemon_part_sends_reminders_when_due(store: Store) -> None:
    config = Config(site=SiteConfig(id="t", timezone="UTC"), notifications=NotificationsConfig(quiet_hours=""),
                    followups=FollowupsConfig(poll_interval=5.0, day_seconds=1))  # a "day" of one second
    add_contact(store, "C-1", "Anna", ["+358401111111"])
    settings = fu.FollowupSettings.from_config(config)
    fu.create_followup(store, settings, followup_id="F", number="+358401111111", language="fi", text="Muistutus",
                       schedule=Schedule(1, 1, 2), contact_id="C-1")
    run_async(_run_for(AppContext(config=config, store=store), 3.5))
    assert [m["notification_id"] for m in outbox(store)] == ["F#1", "F#2"]  # the poll is 5 s: woken by due time
    assert fu.list_followups(store)[0].status == "finished"


def test_a_burst_of_due_reminders_is_handled_in_bounded_batches(store: Store) -> None:
    settings = followup_settings(quiet_hours="")
    for i in range(fu.DUE_BATCH + 50):
        fu.create_followup(store, settings, followup_id=f"F{i}", number=f"+3584022{i:05}", language="fi",
                           text="x", schedule=Schedule(0, 1, 1, 0), now=utc("2026-05-01T00:00"))
    first = fu.run_due(store, settings, utc("2026-05-02T00:00"))
    second = fu.run_due(store, settings, utc("2026-05-02T00:00"))
    assert (len(first), len(second)) == (fu.DUE_BATCH, 50)
    assert fu.run_due(store, settings, utc("2026-05-02T00:00")) == []


def test_cli_lists_followups_and_dry_runs_a_campaign(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path))
    store = Store.open(data / "appliance.db")
    add_contact(store, "C-1", "Anna", ["+358401111111"], tags=["diabetes"], birth_date="1950-01-01")
    fu.create_followup(store, followup_settings(), followup_id="F", number="+358401111111", language="fi",
                       text="Muistutus", schedule=Schedule(1, 7, 3), contact_id="C-1")
    store.close()
    listed = run_cli(data, "followups", "list", "--contact", "C-1", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["followup_id"], row["status"], row["remaining"]) == ("F", "active", 3)
    dry = run_cli(data, "campaigns", "dry-run", "--text", "Hei", "--segment", '{"age_min": 65}', "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["recipients"] == 1
    bad = run_cli(data, "campaigns", "dry-run", "--text", "Hei", "--segment", '{"age": 65}')
    assert bad.returncode == 2 and "unknown fields age" in bad.stderr
    shown = run_cli(data, "summary", "show", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["sms"]["sent"] == 0


def test_a_reminder_that_cannot_be_sent_ends_its_schedule_not_the_others(store: Store) -> None:
    settings = followup_settings(quiet_hours="")
    for fid in ("A", "B"):
        fu.create_followup(store, settings, followup_id=fid, number="+358401111111", language="fi",
                           text="x", schedule=Schedule(0, 1, 2, 0), now=utc("2026-05-01T00:00"))
    with store.transaction():  # a text no SMS can carry (over ten parts)
        store.conn.execute("UPDATE followups SET text = ? WHERE followup_id = 'A'", ("x" * 2000,))
    done = {d["followup_id"]: d for d in fu.run_due(store, settings, utc("2026-05-02T00:00"))}
    assert done["A"]["action"] == "stopped" and done["B"]["action"] == "queued"
    assert fu.list_followups(store, status="stopped")[0].stop_reason.startswith("failed")  # type: ignore[union-attr]


def test_replies_are_scanned_in_bounded_batches(store: Store) -> None:
    from tests.workflows.sched_support import inbound

    settings = followup_settings(quiet_hours="")
    fu.create_followup(store, settings, followup_id="F", number="+358401111111", language="fi", text="x",
                       schedule=Schedule(1, 1, 2), now=utc("2026-05-01T00:00"))
    with store.transaction():
        for i in range(fu.SCAN_BATCH + 20):  # a flood of other people's messages before her reply
            inbound(store, f"+3584033{i:05}", "hei", "2026-05-01T01:00:00.000Z")
    inbound(store, "+358401111111", "kiitos", "2026-05-01T02:00:00.000Z")
    assert fu.scan_stops(store) == 0  # the first batch holds only the others' messages
    assert fu.scan_stops(store) == 1  # her reply is in the second
    assert fu.list_followups(store)[0].stop_reason == "replied"
