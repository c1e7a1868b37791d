"""One supervisor for every part of the daemon: start, restart with back-off, stop.

A part whose ``run`` raises (or returns) is reported ``failed`` and started again
after a back-off that doubles up to a ceiling, without touching the others. Its
health is written to the store (``service_health``) so ``appliance status`` can
read it from another process, and exported to Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

from appliance import __version__
from appliance.daemon.notify import Notifier
from appliance.daemon.service import Health, Service
from appliance.store.db import Store, utcnow

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0
# A run that lasted this long was healthy: the next failure starts the back-off afresh
# instead of waiting a minute for a part that fails once a day.
BACKOFF_RESET_AFTER_S = 120.0
BACKOFF_JITTER = 0.2
# Every part's stop() runs in parallel within this budget, well inside systemd's
# 10 s stop timeout, so SIGTERM always ends in an exit 0.
STOP_BUDGET_S = 5.0
HEARTBEAT_INTERVAL_S = 30.0
# The store thread must answer a no-op within this long for the watchdog to be fed.
STORE_PROBE_TIMEOUT_S = 10.0
DAEMON_ROW = "daemon"


def write_health(store: Store, name: str, health: Health) -> None:
    """Upsert one part's health row (runs on the store thread)."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO service_health(name, state, detail, info, restarts, last_error, since, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET state = excluded.state, "
            "detail = excluded.detail, info = excluded.info, restarts = excluded.restarts, "
            "last_error = excluded.last_error, since = excluded.since, updated_at = excluded.updated_at",
            (
                name,
                health.state,
                health.detail,
                json.dumps(health.info, default=str),
                health.restarts,
                health.last_error,
                health.since,
                utcnow(),
            ),
        )


def clear_health(store: Store) -> None:
    """Forget the previous run's part health (a part that no longer runs must not look alive)."""
    with store.transaction():
        store.conn.execute("DELETE FROM service_health")


class Supervisor:
    """Runs the parts, keeps them running, and feeds the systemd watchdog."""

    def __init__(self, ctx: AppContext, notifier: Notifier) -> None:
        self.ctx = ctx
        self.notifier = notifier
        self.services: dict[str, Service] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._pending_writes: set[asyncio.Future[None]] = set()
        self._stopping = False
        self.started_at = utcnow()
        self.last_tick = time.monotonic()
        self.tick_interval = Notifier.watchdog_interval()
        self._up = Gauge(
            "appliance_service_up", "1 when the part is ok", ["service"], registry=ctx.registry
        )
        self._restarts = Counter(
            "appliance_service_restarts", "Restarts of a failed part", ["service"], registry=ctx.registry
        )
        self.daemon_health = Health(state="starting")

    def add(self, services: Iterable[Service]) -> None:
        for service in services:
            if service.name in self.services:
                raise ValueError(f"two parts named {service.name!r}")
            self.services[service.name] = service
            service.add_health_listener(self._on_health)

    # -- health ---------------------------------------------------------------

    def _on_health(self, name: str, health: Health) -> None:
        self._up.labels(name).set(1 if health.state == "ok" else 0)
        snapshot = replace(health, info=dict(health.info))
        loop = asyncio.get_running_loop()
        future = asyncio.ensure_future(self.ctx.store.run(write_health, self.ctx.store, name, snapshot), loop=loop)
        self._pending_writes.add(future)
        future.add_done_callback(self._write_done)

    def _write_done(self, future: asyncio.Future[None]) -> None:
        self._pending_writes.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("could not record part health: %s", future.exception())

    def healths(self) -> dict[str, Health]:
        out = {DAEMON_ROW: self.daemon_health}
        out.update({name: s.health for name, s in self.services.items()})
        return out

    def loop_alive(self) -> bool:
        """True while the watchdog task still ticks (the event loop and store thread answer)."""
        return time.monotonic() - self.last_tick < 3 * self.tick_interval + STORE_PROBE_TIMEOUT_S

    # -- running --------------------------------------------------------------

    async def start(self) -> None:
        await self.ctx.store.run(clear_health, self.ctx.store)
        for name, service in self.services.items():
            self._tasks[name] = asyncio.create_task(self._keep_running(service), name=f"part:{name}")
        self._background.append(asyncio.create_task(self._watchdog(), name="watchdog"))

    async def _keep_running(self, service: Service) -> None:
        backoff = BACKOFF_INITIAL_S
        while not self._stopping:
            started = time.monotonic()
            service.set_health("starting", "starting")
            try:
                await service.run()
                error = "stopped by itself"
            except asyncio.CancelledError:
                raise
            except Exception as err:
                error = f"{type(err).__name__}: {err}"
                log.error("part %s failed: %s", service.name, error, exc_info=log.isEnabledFor(logging.DEBUG))
            if self._stopping:
                return
            if time.monotonic() - started > BACKOFF_RESET_AFTER_S:
                backoff = BACKOFF_INITIAL_S
            service.health.restarts += 1
            service.health.last_error = error
            self._restarts.labels(service.name).inc()
            delay = backoff * (1 + random.uniform(-BACKOFF_JITTER, BACKOFF_JITTER))
            service.set_health("failed", f"{error}; restarting in {delay:.0f} s")
            log.warning("part %s restarts in %.1f s (restart %d)", service.name, delay, service.health.restarts)
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _watchdog(self) -> None:
        """Feed systemd's watchdog only while the loop runs and the store thread answers."""
        next_heartbeat = 0.0
        while True:
            try:
                async with asyncio.timeout(STORE_PROBE_TIMEOUT_S):
                    await self.ctx.store.run(lambda: None)
            except TimeoutError:
                log.error("store thread did not answer in %.0f s; not feeding the watchdog", STORE_PROBE_TIMEOUT_S)
                await asyncio.sleep(self.tick_interval)
                continue
            self.last_tick = time.monotonic()
            self.notifier.watchdog()
            if self.last_tick >= next_heartbeat:
                next_heartbeat = self.last_tick + HEARTBEAT_INTERVAL_S
                await self._heartbeat()
            await asyncio.sleep(self.tick_interval)

    async def _heartbeat(self) -> None:
        states = {name: s.health.state for name, s in self.services.items()}
        bad = sorted(n for n, st in states.items() if st != "ok")
        summary = "all parts ok" if not bad else "not ok: " + ", ".join(f"{n} {states[n]}" for n in bad)
        self.notifier.status(summary)
        self.daemon_health.state = "ok"
        self.daemon_health.detail = summary
        self.daemon_health.info = {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": self.started_at,
            "heartbeat": utcnow(),
            "site": self.ctx.config.site.id,
        }
        try:
            await self.ctx.store.run(write_health, self.ctx.store, DAEMON_ROW, self.daemon_health)
        except Exception as err:  # noqa: BLE001 - a full disk must not stop the watchdog
            log.warning("could not record the daemon heartbeat: %s", err)

    async def stop(self) -> None:
        """Let every part park its work (in parallel, bounded), then cancel them."""
        self._stopping = True
        stops = [asyncio.create_task(s.stop(), name=f"stop:{s.name}") for s in self.services.values()]
        if stops:
            done, pending = await asyncio.wait(stops, timeout=STOP_BUDGET_S)
            for task in pending:
                log.warning("part %s did not park its work in %.0f s", task.get_name()[5:], STOP_BUDGET_S)
                task.cancel()
            for task in done:
                if task.exception() is not None:
                    log.warning("part %s failed to stop cleanly: %s", task.get_name()[5:], task.exception())
        running = [*self._tasks.values(), *self._background]
        for task in running:
            task.cancel()
        if running:
            # bounded: a task that swallows its cancellation must not keep the daemon from exiting
            ended, stuck = await asyncio.wait(running, timeout=STOP_BUDGET_S)
            for task in ended:
                if not task.cancelled():
                    task.exception()  # retrieved: its failure was logged when it happened
            for task in stuck:
                log.error("task %s did not end when cancelled; stopping without it", task.get_name())
        for service in self.services.values():
            service.health.state = "stopped"
        if self._pending_writes:
            await asyncio.wait(self._pending_writes, timeout=1.0)
        self.daemon_health.state = "stopped"
        with contextlib.suppress(Exception):
            await self.ctx.store.run(self._record_stopped)

    def _record_stopped(self) -> None:
        with self.ctx.store.transaction():
            self.ctx.store.conn.execute(
                "UPDATE service_health SET state = 'stopped', detail = 'daemon stopped', updated_at = ?",
                (utcnow(),),
            )
