"""The ``workflows`` part of the daemon: follow-up reminders, campaign pacing, the daily summary.

Wiring (``appliance/daemon/app.py``)::

    services.append(WorkflowService(ctx))

Three loops over the store, each waking when its next piece of work is due, on
a wake-up from this process, or every ``followups.poll_interval`` seconds at the
latest (work written by another process, such as ``appliance campaigns start``,
and a wall clock that jumped are seen then). Each loop compares the wall clock
with due times kept in the store, so a restart or a clock change only changes
when the work is noticed, never how often it is done (see
``appliance/followups/schedule.py`` and ``appliance/campaigns/pacing.py``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from appliance.campaigns import campaigns as camp
from appliance.campaigns.pacing import gap_after, may_queue, quiet_until
from appliance.daemon.context import AppContext
from appliance.daemon.service import Service
from appliance.followups import followups as fu
from appliance.summary import daily

log = logging.getLogger(__name__)

MIN_SLEEP_S = 0.05
BUSY_RETRY_S = 1.0  # a campaign held back by its per-minute budget or a full outbox looks again after this


class WorkflowService(Service):
    """Follow-ups, campaigns and the daily summary (see the module docstring)."""

    name = "workflows"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.store = ctx.store
        self.poll_s = ctx.config.followups.poll_interval
        self.followup_settings = fu.FollowupSettings.from_config(ctx.config)
        self.campaign_settings = camp.CampaignSettings.from_config(ctx.config)
        self.summary_settings = daily.SummarySettings.from_config(ctx.config)
        self.reminders_done = 0
        self.campaign_messages = 0

    async def run(self) -> None:
        changed = await self.store.run(fu.recompute_due, self.store, self.followup_settings)
        if changed:
            log.info("follow-ups: %d due times recomputed at start", changed)
        self.set_health("ok", "running")
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._followups(), name="workflows-followups")
            tasks.create_task(self._campaigns(), name="workflows-campaigns")
            tasks.create_task(self._summary(), name="workflows-summary")

    def _until(self, when: datetime | None, now: datetime) -> float:
        if when is None:
            return self.poll_s
        return min(self.poll_s, max(MIN_SLEEP_S, (when - now).total_seconds()))

    async def _followups(self) -> None:
        while True:
            await self.store.run(fu.scan_stops, self.store)
            now = datetime.now(UTC)
            done = await self.store.run(fu.run_due, self.store, self.followup_settings, now)
            self.reminders_done += sum(1 for d in done if d["action"] in ("queued", "blocked"))
            if done:
                continue  # a full batch may leave more due at once
            nxt = await self.store.run(fu.next_due_time, self.store)
            await self.ctx.wakeups.wait(fu.WAKEUP, self._until(nxt, datetime.now(UTC)))

    async def _campaigns(self) -> None:
        settings = self.campaign_settings
        while True:
            now = datetime.now(UTC)
            quiet = quiet_until(now, settings.quiet_hours, settings.timezone)
            if quiet is not None:
                await self.ctx.wakeups.wait(camp.WAKEUP, self._until(quiet, now))
                continue
            rate = await self.store.run(camp.running_rate, self.store, settings, now)
            if rate is None:
                await self.ctx.wakeups.wait(camp.WAKEUP, self.poll_s)
                continue
            window = await self.store.run(camp.parts_in_window, self.store, now)
            waiting = await self.store.run(camp.outstanding, self.store)
            if not may_queue(window, waiting, rate):
                await asyncio.sleep(min(BUSY_RETRY_S, 60.0 / rate) if waiting < rate else BUSY_RETRY_S)
                continue
            result = await self.store.run(camp.send_next, self.store, settings, now)
            if result is None:
                continue
            if result["status"] == "queued":
                self.campaign_messages += 1
                await asyncio.sleep(gap_after(result["parts"], rate))

    async def _summary(self) -> None:
        settings = self.summary_settings
        if not settings.enabled:
            return
        while True:
            now = datetime.now(UTC)
            await self.store.run(daily.send_due_summary, self.store, settings, now)
            nxt = daily.next_summary_at(settings, now)
            await asyncio.sleep(self._until(nxt, now))
