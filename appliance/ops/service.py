"""The daemon's ``field`` part: the uplink high-water file, retention, and the clock's health."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from appliance.daemon.context import AppContext
from appliance.daemon.service import Service
from appliance.ops import backup as ops_backup
from appliance.ops.clock import BUILD_FLOOR, clock_state
from appliance.ops.retention import run_retention
from appliance.store.db import Store, set_clock_floor

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0
HIGHWATER_EVERY_S = ops_backup.HIGHWATER_INTERVAL_S
TICK_S = 5.0  # the clock check: cheap, and its health row is written only when it changes


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def recorded_floor(store: Store) -> datetime:
    """The newest time the database (or the high-water file) already holds, at least BUILD_FLOOR."""
    times = [BUILD_FLOOR]
    row = store.conn.execute("SELECT ts FROM events ORDER BY n DESC LIMIT 1").fetchone()
    if row and (t := _parse(row[0])):
        times.append(t)
    hw = ops_backup.read_highwater(store.path.parent)
    if hw and (t := _parse(hw.get("at"))):
        times.append(t)
    return max(times)


def start_checks(store: Store, site: str, wal_autocheckpoint: int | None = None) -> datetime:
    """At daemon start, before any part writes: recover a rolled-back file, floor the clock, SD settings."""
    if wal_autocheckpoint:
        # pages rewritten between two checkpoints reach the database file once: fewer SD writes
        store.conn.execute(f"PRAGMA wal_autocheckpoint = {int(wal_autocheckpoint)}")
    ops_backup.check_highwater(store, site)
    floor = recorded_floor(store)
    if datetime.now(UTC) < floor:
        log.warning("the clock is behind times already recorded (%s): stamping that time until it is set", floor)
    set_clock_floor(floor)
    return floor


class FieldService(Service):
    name = "clock"

    def __init__(self, ctx: AppContext, floor: datetime | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.floor = floor
        self._last_retention = 0.0
        self._last_highwater = 0.0

    def check_clock(self) -> None:
        state = clock_state(self.floor)
        self.set_health("ok" if state["trusted"] else "degraded", state["detail"],
                        trusted=state["trusted"], source=state["source"])

    async def tick(self) -> None:
        store, site = self.ctx.store, self.ctx.config.site.id
        self.check_clock()
        now = time.monotonic()
        if not self._last_highwater or now - self._last_highwater >= HIGHWATER_EVERY_S:
            self._last_highwater = now
            await store.run(ops_backup.write_highwater, store, site)
        if not self._last_retention or now - self._last_retention >= RETENTION_EVERY_S:
            self._last_retention = now
            await store.run(run_retention, store, self.ctx.config)

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(TICK_S)

    async def stop(self) -> None:
        store = self.ctx.store
        await store.run(ops_backup.write_highwater, store, self.ctx.config.site.id)
