"""Campaign pacing and quiet hours: the rule (pure) and the daemon part that follows it."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from appliance.campaigns import campaigns as camp
from appliance.campaigns.pacing import gap_after, may_queue, quiet_until
from appliance.config import CampaignsConfig, Config, FollowupsConfig, NotificationsConfig, SiteConfig
from appliance.daemon.context import AppContext
from appliance.followups.service import WorkflowService
from appliance.store.db import Store
from tests.workflows.sched_support import add_contact, outbox, run_async, utc


def test_gap_and_budget() -> None:
    assert gap_after(1, 10) == 6.0  # 10 parts a minute: one single-part SMS every 6 s
    assert gap_after(3, 30) == 6.0  # a 3-part message costs three slots
    assert may_queue(9, 0, 10)
    assert not may_queue(10, 0, 10)  # the minute's budget is spent
    assert not may_queue(0, 10, 10)  # the modem has not sent what we gave it


def test_quiet_hours_and_the_margin_before_them() -> None:
    tz = "Europe/Helsinki"
    assert quiet_until(utc("2026-05-04T12:00"), "21:00-08:00", tz) is None  # 15:00 local
    assert quiet_until(utc("2026-05-04T19:00"), "21:00-08:00", tz) == utc("2026-05-05T05:00")  # 22:00 local
    assert quiet_until(utc("2026-05-04T17:59"), "21:00-08:00", tz) == utc("2026-05-05T05:00")  # 20:59: too close
    assert quiet_until(utc("2026-05-04T17:57"), "21:00-08:00", tz) is None  # 20:57: still 3 minutes
    assert quiet_until(utc("2026-05-04T19:00"), "", tz) is None


def _config(rate: int, quiet: str) -> Config:
    return Config(
        site=SiteConfig(id="t", timezone="UTC"),
        notifications=NotificationsConfig(quiet_hours=quiet),
        campaigns=CampaignsConfig(rate_per_minute=rate),
        followups=FollowupsConfig(poll_interval=0.1),
    )


def _people(store: Store, n: int) -> None:
    for i in range(n):
        add_contact(store, f"C-{i:03}", f"P {i}", [f"+35840200{i:04}"])


async def _run_for(ctx: AppContext, seconds: float, until: Callable[[], bool] | None = None) -> None:
    """Run the workflows part for ``seconds``, or until ``until()`` holds (checked every 0.1 s)."""
    service = WorkflowService(ctx)
    task = asyncio.create_task(service.run())
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until is not None and until()):
        await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _start(store: Store, config: Config) -> None:
    settings = camp.CampaignSettings.from_config(config)
    camp.start_campaign(store, settings, "c", {"text": "Hei", "segment": {}}, source="cli")


def test_the_daemon_part_keeps_the_pace(store: Store) -> None:
    config = _config(rate=60, quiet="")  # one a second
    _people(store, 20)
    _start(store, config)
    run_async(_run_for(AppContext(config=config, store=store), 2.5))
    sent = outbox(store)
    assert 1 <= len(sent) <= 4  # t=0, 1, 2 (+1 for scheduling slack), never the 20 at once
    stamps = [datetime.fromisoformat(m["created_at"].replace("Z", "+00:00")) for m in sent]
    assert all(b - a >= timedelta(seconds=0.9) for a, b in itertools.pairwise(stamps))


def test_the_minute_budget_survives_a_restart(store: Store) -> None:
    config = _config(rate=5, quiet="")
    _people(store, 20)
    _start(store, config)
    settings = camp.CampaignSettings.from_config(config)
    for _ in range(5):  # a previous run queued the minute's five just now, then the daemon restarted
        camp.send_next(store, settings, datetime.now(UTC))
    run_async(_run_for(AppContext(config=config, store=store), 1.5))
    assert len(outbox(store)) == 5


def test_nothing_is_queued_in_the_quiet_hours(store: Store) -> None:
    now = datetime.now(UTC)
    quiet = f"{(now - timedelta(hours=1)):%H:00}-{(now + timedelta(hours=2)):%H:00}"
    config = _config(rate=600, quiet=quiet)
    _people(store, 5)
    _start(store, config)
    run_async(_run_for(AppContext(config=config, store=store), 1.0))
    assert outbox(store) == []
    assert camp.campaign_summary(store, "c")["pending"] == 5
    # the same campaign outside the quiet hours goes out
    run_async(_run_for(AppContext(config=dataclasses.replace(config, notifications=NotificationsConfig(
        quiet_hours="")), store=store), 30.0, until=lambda: len(outbox(store)) == 5))
    assert len(outbox(store)) == 5
