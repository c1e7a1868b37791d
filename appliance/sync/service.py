"""The ``sync`` service: MQTT store-and-forward between this appliance and the central.

Wiring (``appliance/daemon/app.py``, when ``mqtt.enabled``)::

    services.append(SyncService(ctx))

What it runs: the MQTT link (paho network thread), the uplink relay (outbox
-> ``up/<stream>`` until acknowledged), the downlink consumer (``down/#`` ->
validated, applied in durable batches, then PUBACKed) and a health reporter
(connected, backlog, oldest unsent, last ack, refused downlinks, disk). The
protocol is written down in ``sync/PROTOCOL.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge

from appliance.campaigns.campaigns import CampaignSettings
from appliance.daemon.context import AppContext
from appliance.daemon.service import Service
from appliance.errors import StoreError
from appliance.followups.followups import FollowupSettings
from appliance.notifications.requests import NotificationSettings
from appliance.store.outbox import WAKEUP_EVENTS, EventOutbox
from appliance.sync import processed
from appliance.sync.downlink import BatchResult, DownlinkApplier, Incoming, refused_count
from appliance.sync.link import LinkListener, LinkSettings, MqttLink
from appliance.sync.uplink import IDLE_CHECK_S, RESEND_FIRST_S, UplinkRelay
from sync.envelope import MAX_PAYLOAD_BYTES, utc_timestamp

log = logging.getLogger(__name__)

DOWNLINK_QUEUE_MAX = 1000  # messages received but not yet applied (the broker's window is smaller)
DOWNLINK_BATCH_MAX = 200  # messages applied per durable commit
STORE_RETRY_S = 2.0  # a failed commit (disk full, locked) is retried; nothing is PUBACKed meanwhile
LOCKED_RETRY_S = 0.2
ACK_COALESCE_S = 0.25  # an ack-only batch waits this long for later acks (one outbox update for all)
HEALTH_INTERVAL_S = 5.0
PRUNE_INTERVAL_S = 300.0
ACKED_EVENTS_KEEP_S = (
    3600.0  # acknowledged events are kept this long (for the status page), then pruned
)
EVENTS_WAKEUP_TIMEOUT_S = 30.0


class SyncService(Service, LinkListener):
    """Store-and-forward sync with the central system over MQTT (see module docstring)."""

    name = "sync"

    def __init__(
        self,
        ctx: AppContext,
        link_settings: LinkSettings | None = None,
        resend_first_s: float = RESEND_FIRST_S,
        *,
        idle_check_s: float = IDLE_CHECK_S,
        health_interval_s: float = HEALTH_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.config = ctx.config
        self.store = ctx.store
        self.link_settings = link_settings or LinkSettings.from_config(ctx.config)
        self.resend_first_s = resend_first_s
        self.idle_check_s = idle_check_s
        self.health_interval_s = health_interval_s
        self.link: MqttLink | None = None
        self.relay: UplinkRelay | None = None
        self._queue: asyncio.Queue[Incoming] = asyncio.Queue(DOWNLINK_QUEUE_MAX)
        self._health_kick = asyncio.Event()
        self._applier: DownlinkApplier | None = None
        self._last_ack_at: str | None = None
        self._store_problem = ""
        self.downlink_applied = 0
        self._metrics = _Metrics(ctx)

    # -- Service ---------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(DOWNLINK_QUEUE_MAX)
        self._health_kick = asyncio.Event()
        self.link = MqttLink(self.link_settings, self, loop.call_soon_threadsafe)
        self.relay = UplinkRelay(
            self.store,
            self.link,
            self.config.site.id,
            self.link_settings.inflight,
            self.resend_first_s,
            self.idle_check_s,
        )
        self._applier = DownlinkApplier(
            self.store,
            self.link.topics,
            NotificationSettings.from_config(self.config),
            MAX_PAYLOAD_BYTES,
            FollowupSettings.from_config(self.config),
            CampaignSettings.from_config(self.config),
        )
        self.set_health(
            "starting", f"connecting to {self.link_settings.host}:{self.link_settings.port}"
        )
        self.link.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.relay.run(), name="sync-uplink")
                tasks.create_task(self._consume_downlink(), name="sync-downlink")
                tasks.create_task(self._report_health(), name="sync-health")
                tasks.create_task(self._forward_wakeups(), name="sync-wakeups")
                tasks.create_task(self._prune(), name="sync-prune")
        finally:
            link, self.link = self.link, None
            if link is not None:
                await asyncio.get_running_loop().run_in_executor(None, link.stop)

    async def stop(self) -> None:
        """Say offline and disconnect; unacknowledged work stays in the store for next time."""
        link, self.link = self.link, None
        if link is not None:
            await asyncio.get_running_loop().run_in_executor(None, link.stop)
        self.set_health("stopped", "stopped")

    # -- LinkListener (asyncio loop) -------------------------------------------

    def link_up(self, generation: int, session_present: bool) -> None:
        if self.relay is not None:
            self.relay.on_link_up(generation)
        self._metrics.connected.set(1)
        self._health_kick.set()  # the status shows the link as it is, not as it was at the last report

    def link_down(self, reason: str) -> None:
        self._metrics.connected.set(0)
        self._health_kick.set()
        if self.relay is not None:
            self.relay.kick()

    def published(self, pubacks: list[tuple[int, bool]]) -> None:
        relay = self.relay
        if relay is not None:
            for mid, _ok in pubacks:
                relay.on_published(mid)
        self._metrics.published.inc(sum(1 for _mid, ok in pubacks if ok))

    def protocol_refused(self) -> None:
        self._health_kick.set()  # the health loop rebuilds the link as MQTT 3.1.1

    def received(self, message: Incoming) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            # Not PUBACKed: the broker keeps it and redelivers it on the next connection.
            log.warning(
                "downlink queue full (%d); %s left with the broker",
                DOWNLINK_QUEUE_MAX,
                message.topic,
            )

    # -- downlink --------------------------------------------------------------

    async def _consume_downlink(self) -> None:
        assert self._applier is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < DOWNLINK_BATCH_MAX and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if all(m.topic.endswith("/down/ack") for m in batch):
                # Watermarks supersede each other: gather a few before touching the outbox.
                await asyncio.sleep(ACK_COALESCE_S)
                while len(batch) < DOWNLINK_BATCH_MAX and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
            result = await self._apply_until_stored(batch)
            link = self.link
            if link is not None:
                for message in batch:
                    link.ack(message)
            self._account(result)

    async def _apply_until_stored(self, batch: list[Incoming]) -> BatchResult:
        assert self._applier is not None
        while True:
            try:
                result = await self.store.run(self._applier.apply_batch, batch)
            except StoreError as err:
                problem = f"cannot store downlink: {err}"
                # "locked": another process committed between our read and our write (a
                # deferred transaction cannot wait for that); trying again soon succeeds.
                delay = LOCKED_RETRY_S if "locked" in str(err) else STORE_RETRY_S
                if problem != self._store_problem:
                    log.error("sync: %s; retrying every %.1f s", problem, delay)
                self._store_problem = problem
                self.set_health("degraded", problem, **self._health_info_cached())
                await asyncio.sleep(delay)
                continue
            self._store_problem = ""
            return result

    def _account(self, result: BatchResult) -> None:
        for outcome in result.outcomes:
            self._metrics.downlink.labels(outcome).inc()
        if result.acked:
            self._last_ack_at = utc_timestamp()
            if self.relay is not None:
                if result.events_acked:  # a watermark stuck below a gap is not progress
                    self.relay.on_ack_progress(result.events_acked)
                for stream, seq in result.resend.items():
                    self.relay.on_resend_request(stream, seq)
            self._metrics.acked.inc(result.events_acked)
        self.downlink_applied += sum(1 for o in result.outcomes if o not in ("ack", "duplicate"))
        if result.refused:
            self._health_kick.set()  # show the refusal count at once

    # -- background chores -----------------------------------------------------

    async def _forward_wakeups(self) -> None:
        while True:
            await self.ctx.wakeups.wait(WAKEUP_EVENTS, EVENTS_WAKEUP_TIMEOUT_S)
            if self.relay is not None:
                self.relay.kick()

    async def _prune(self) -> None:
        outbox = EventOutbox(self.store)
        while True:
            await asyncio.sleep(PRUNE_INTERVAL_S)
            cutoff = utc_timestamp(datetime.now(UTC) - timedelta(seconds=ACKED_EVENTS_KEEP_S))
            try:
                gone = await self.store.run(outbox.prune_acked, cutoff)
                gone_ids = await self.store.run(processed.prune, self.store)
            except StoreError as err:
                log.warning("sync: pruning failed: %s", err)
                continue
            if gone or gone_ids:
                log.info("sync: pruned %d acknowledged events, %d old downlink ids", gone, gone_ids)

    def _health_info_cached(self) -> dict[str, Any]:
        return dict(self.health.info)

    def _health_figures(self, outbox: EventOutbox) -> tuple[dict[str, Any], int, bool, int]:
        """Backlog, refused downlinks, disk low, free bytes: one store call (store thread)."""
        free = self.store.free_bytes()
        return outbox.backlog(), refused_count(self.store), free < self.store.min_free_bytes, free

    async def _report_health(self) -> None:
        outbox = EventOutbox(self.store)
        while True:
            started = time.monotonic()
            try:
                backlog, refused, disk_low, free_bytes = await self.store.run(self._health_figures, outbox)
            except StoreError as err:
                self.set_health("degraded", f"store: {err}", **self._health_info_cached())
                await asyncio.sleep(self.health_interval_s)
                continue
            free_mb = free_bytes // (1024 * 1024)
            link = self.link
            connected = bool(link and link.connected)
            info: dict[str, Any] = {
                "connected": connected,
                "broker": f"{self.link_settings.host}:{self.link_settings.port}",
                "protocol": link.protocol if link else None,
                "backlog": backlog["unacked"],
                "oldest_unsent": backlog["oldest_unacked"],
                "last_ack": self._last_ack_at,
                "refused_downlinks": refused,
                "in_flight": self.relay.in_flight if self.relay else 0,
                "published": self.relay.published_total if self.relay else 0,
                "resends": self.relay.resends if self.relay else 0,
                "gap_resends": self.relay.gap_resends if self.relay else 0,
                "downlink_applied": self.downlink_applied,
                "disk_free_mb": free_mb,
            }
            self._metrics.backlog.set(backlog["unacked"])
            if disk_low:
                self.set_health(
                    "degraded",
                    f"disk full: {free_mb} MiB free under {self.store.path.parent}; "
                    "events are kept, none dropped, new ones may be refused",
                    **info,
                )
            elif self._store_problem:
                self.set_health("degraded", self._store_problem, **info)
            elif not connected:
                detail = link.last_error if link and link.last_error else "not connected"
                self.set_health(
                    "degraded", f"offline ({detail}); {backlog['unacked']} events waiting", **info
                )
            else:
                self.set_health("ok", f"connected; {backlog['unacked']} events waiting", **info)
            if link is not None and link.fallback_requested:
                log.warning("mqtt: broker refused MQTT 5; falling back to MQTT 3.1.1")
                await asyncio.get_running_loop().run_in_executor(None, link.restart_as_311)
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for may swallow a cancel (3.11)
                async with asyncio.timeout(max(0.5, self.health_interval_s - (time.monotonic() - started))):
                    await self._health_kick.wait()
            self._health_kick.clear()


class _Metrics:
    """Prometheus series of the sync part, on the daemon's own registry."""

    def __init__(self, ctx: AppContext) -> None:
        registry = ctx.registry
        self.connected = _get_or_make(
            registry, Gauge, "appliance_sync_connected", "1 when connected to the broker"
        )
        self.backlog = _get_or_make(
            registry, Gauge, "appliance_sync_backlog_events", "uplink events not yet acknowledged"
        )
        self.published = _get_or_make(
            registry, Counter, "appliance_sync_published", "uplink messages PUBACKed by the broker"
        )
        self.acked = _get_or_make(
            registry,
            Counter,
            "appliance_sync_acked_events",
            "uplink events acknowledged by the central",
        )
        self.downlink = _get_or_make(
            registry,
            Counter,
            "appliance_sync_downlink",
            "downlink messages by outcome",
            labelnames=("outcome",),
        )


def _get_or_make(registry: Any, kind: Any, name: str, doc: str, **kw: Any) -> Any:
    """The series ``name`` on ``registry``, created once (a restarted service reuses it)."""
    existing = getattr(registry, "_names_to_collectors", {}).get(name)
    if existing is None:
        existing = getattr(registry, "_names_to_collectors", {}).get(name + "_total")
    if existing is not None:
        return existing
    with contextlib.suppress(ValueError):
        return kind(name, doc, registry=registry, **kw)
    return getattr(registry, "_names_to_collectors", {})[name]
