"""Uplink relay: the event outbox to ``<prefix>/<site>/up/<stream>``, until the central acks.

The outbox is read in creation order in batches (bounded memory whatever the
backlog); at most ``mqtt.inflight`` messages wait for the broker's PUBACK at a
time. An event leaves the outbox only when the central's ``ack`` watermark for
its stream covers it (the broker's PUBACK is not enough: a broker may drop
queued messages). What stays unacknowledged is sent again from the oldest:

- after every (re)connect, and
- when no ack has made progress for :data:`RESEND_FIRST_S` while events are
  out (doubling up to :data:`RESEND_MAX_S`, so a central that is down for
  days is not flooded).

Every retry carries the same ``id`` and ``seq``; the central de-duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from appliance.store.outbox import Event, EventOutbox
from sync.envelope import encode

if TYPE_CHECKING:
    from appliance.store.db import Store
    from appliance.sync.link import MqttLink

log = logging.getLogger(__name__)

READ_BATCH = 500  # events read from the outbox per store call
RESEND_FIRST_S = 10.0  # no ack progress for this long: send the unacknowledged again
RESEND_MAX_S = 600.0
IDLE_CHECK_S = 1.0  # poll this often for outbox rows written by other processes (no wake-up crosses processes)


class UplinkRelay:
    """Publishes outbox events; the service feeds it link, PUBACK and ack news."""

    def __init__(
        self,
        store: Store,
        link: MqttLink,
        site: str,
        inflight: int,
        resend_first_s: float = RESEND_FIRST_S,
    ) -> None:
        self.store = store
        self.link = link
        self.site = site
        self.inflight = inflight
        self.outbox = EventOutbox(store)
        self._kick = asyncio.Event()
        self._window_free = asyncio.Event()
        self._outstanding: set[int] = set()  # mids waiting for the broker's PUBACK
        self._cursor = 0  # global outbox position of the last event published on this connection
        self._generation = 0
        self._last_progress = time.monotonic()
        self.resend_first_s = resend_first_s
        self._resend_after = resend_first_s
        self.published_total = 0
        self.peak_in_flight = 0
        self.resends = 0

    # -- news from the service (asyncio loop) ---------------------------------

    def kick(self) -> None:
        self._kick.set()

    def on_link_up(self, generation: int) -> None:
        """A new connection: send everything unacknowledged again, from the oldest."""
        self._generation = generation
        self._outstanding.clear()
        self._cursor = 0
        self._last_progress = time.monotonic()
        self._window_free.set()
        self._kick.set()

    def on_published(self, mid: int) -> None:
        if mid in self._outstanding:
            self._outstanding.discard(mid)
            if len(self._outstanding) <= self.inflight // 2:
                self._window_free.set()

    def on_ack_progress(self) -> None:
        """The central acknowledged more: reset the resend timer."""
        self._last_progress = time.monotonic()
        self._resend_after = self.resend_first_s
        self._kick.set()

    @property
    def in_flight(self) -> int:
        return len(self._outstanding)

    # -- the loop --------------------------------------------------------------

    async def run(self) -> None:
        while True:
            if not self.link.connected:
                await self._wait_kick(IDLE_CHECK_S)
                continue
            await self._check_resend()
            free = self.inflight - len(self._outstanding)
            # Refill only when half the window is free: fewer, larger outbox reads.
            if free <= 0 or (free < self.inflight // 2 and self._outstanding):
                self._window_free.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._window_free.wait(), IDLE_CHECK_S)
                continue
            events = await self.store.run(self.outbox.unacked, self._cursor, min(READ_BATCH, free))
            if not events:
                await self._wait_kick(IDLE_CHECK_S)
                continue
            self._publish(events)

    def _publish(self, events: list[Event]) -> None:
        generation = self._generation
        for event in events:
            if not self.link.connected or generation != self._generation:
                return  # the connection changed under us: on_link_up rewound the cursor
            mid = self.link.publish(
                self.link.topics.up(event.stream), encode(event.envelope(self.site)), qos=1
            )
            if mid is None:
                return
            self._outstanding.add(mid)
            self.peak_in_flight = max(self.peak_in_flight, len(self._outstanding))
            self._cursor = event.n
            self.published_total += 1

    async def _check_resend(self) -> None:
        if self._cursor == 0:
            return
        if time.monotonic() - self._last_progress < self._resend_after:
            return
        oldest = await self.store.run(self.outbox.unacked, 0, 1)
        if not oldest or oldest[0].n > self._cursor:
            self._last_progress = time.monotonic()  # all that went out is acknowledged
            return
        log.info(
            "uplink: no acknowledgement for %.0f s; sending the unacknowledged events again",
            self._resend_after,
        )
        self.resends += 1
        self._cursor = 0
        self._last_progress = time.monotonic()
        self._resend_after = min(self._resend_after * 2, RESEND_MAX_S)

    async def _wait_kick(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), timeout)
        self._kick.clear()
