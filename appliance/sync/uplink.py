"""Uplink relay: the event outbox to ``<prefix>/<site>/up/<stream>``, until the central acks.

The outbox is read in creation order in batches (bounded memory whatever the
backlog); at most ``mqtt.inflight`` messages wait for the broker's PUBACK at a
time. An event leaves the outbox only when the central's ``ack`` watermark for
its stream covers it (the broker's PUBACK is not enough: a broker may drop
queued messages). What stays unacknowledged is sent again from the oldest:

- after every (re)connect, and
- when no ack has made progress for :data:`RESEND_FIRST_S` while events are
  out (doubling up to :data:`RESEND_MAX_S`, so a central that is down for
  days is not flooded), and
- at once when the central asks for it: an ``ack`` with ``resend: true``
  (sent when the central (re)connects and when it sees a gap) rewinds to the
  first unacknowledged event of that stream above the watermark, like TCP's
  duplicate ACK; at most once per :data:`RESEND_HOLDOFF_S` per stream.

Every retry carries the same ``id`` and ``seq``; the central de-duplicates.

Besides the broker's PUBACK window, a second window bounds what is sent but
not yet acknowledged by the central (:data:`AHEAD_MAX`, like TCP's congestion
window): a resend request shrinks it to :data:`AHEAD_MIN` (a broker that
dropped once would drop a full resend again) and every ack widens it by what it
covers, so it doubles per round trip back to :data:`AHEAD_MAX`.
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
RESEND_HOLDOFF_S = 2.0  # a stream resent on request is not resent on request again sooner
AHEAD_MAX = 5000  # events sent but not acknowledged by the central, at most
AHEAD_MIN = 50
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
        idle_check_s: float = IDLE_CHECK_S,
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
        # Only for rows other processes write: this process's own commits kick the relay at once.
        self.idle_check_s = idle_check_s
        self._resend_after = resend_first_s
        self.published_total = 0
        self.peak_in_flight = 0
        self.resends = 0
        self.gap_resends = 0
        self.ahead_window = AHEAD_MAX
        self._resend_requests: dict[str, int] = {}  # stream -> central's watermark (bounded by streams)
        self._resent_at: dict[str, float] = {}

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

    def on_ack_progress(self, acked: int = 0) -> None:
        """The central acknowledged ``acked`` more events: reset the resend timer, widen the window."""
        self.ahead_window = min(AHEAD_MAX, self.ahead_window + acked)
        self._last_progress = time.monotonic()
        self._resend_after = self.resend_first_s
        self._kick.set()

    def on_resend_request(self, stream: str, seq: int) -> None:
        """The central has everything of ``stream`` up to ``seq`` and asks for what follows."""
        self._resend_requests[stream] = seq
        self._resend_after = self.resend_first_s  # the central is there: no long back-off
        self._kick.set()

    @property
    def in_flight(self) -> int:
        return len(self._outstanding)

    # -- the loop --------------------------------------------------------------

    async def run(self) -> None:
        while True:
            if not self.link.connected:
                await self._wait_kick(self.idle_check_s)
                continue
            if self._resend_requests:
                await self._serve_resend_requests()
            await self._check_resend()
            free = self.inflight - len(self._outstanding)
            # Refill only when half the window is free: fewer, larger outbox reads.
            if free <= 0 or (free < self.inflight // 2 and self._outstanding):
                self._window_free.clear()
                await _wait(self._window_free, self._idle_timeout())
                continue
            ahead = await self.store.run(_sent_unacked, self.store, self._cursor) if self._cursor else 0
            free = min(free, self.ahead_window - ahead)
            if free <= 0:
                await self._wait_kick(self._idle_timeout())  # an ack (or the resend timer) makes room
                continue
            events = await self.store.run(self.outbox.unacked, self._cursor, min(READ_BATCH, free))
            if not events:
                await self._wait_kick(self._idle_timeout())
                continue
            if self._cursor and ahead == 0:
                # Everything sent before was acknowledged: the resend timer starts with this send,
                # not at the last ack (after 10 s of quiet, every new event was sent twice).
                self._last_progress = time.monotonic()
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

    async def _serve_resend_requests(self) -> None:
        requests, self._resend_requests = self._resend_requests, {}
        now = time.monotonic()
        for stream, seq in requests.items():
            if now - self._resent_at.get(stream, -RESEND_HOLDOFF_S) < RESEND_HOLDOFF_S:
                continue  # a resend of this stream is under way; its acks will tell
            first = await self.store.run(_first_unacked_after, self.store, stream, seq)
            if first is None or first > self._cursor:
                continue  # nothing of it was sent yet on this connection: it goes out anyway
            log.info("uplink: the central asks for %s after seq %d; sending again from there", stream, seq)
            self._resent_at[stream] = now
            self.ahead_window = AHEAD_MIN  # restart slowly: the full window overflowed the broker once
            self._cursor = min(self._cursor, first - 1)
            self._last_progress = now
            self.gap_resends += 1

    def _idle_timeout(self) -> float:
        """How long to wait for news: the idle check, or less when the resend timer is due sooner."""
        if not self._cursor:
            return self.idle_check_s
        due = self._resend_after - (time.monotonic() - self._last_progress)
        return max(0.05, min(self.idle_check_s, due))

    async def _wait_kick(self, timeout: float) -> None:
        await _wait(self._kick, timeout)
        self._kick.clear()


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` s.

    Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation that
    arrives as the event fires, and the relay then never stops.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


def _first_unacked_after(store: Store, stream: str, seq: int) -> int | None:
    """Outbox position of the oldest unacknowledged event of ``stream`` above ``seq``."""
    row = store.conn.execute(
        "SELECT MIN(n) FROM events WHERE stream = ? AND seq > ? AND acked_at IS NULL", (stream, seq)
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _sent_unacked(store: Store, cursor: int) -> int:
    """Unacknowledged events at or before outbox position ``cursor`` (sent on this connection)."""
    row = store.conn.execute("SELECT COUNT(*) FROM events WHERE acked_at IS NULL AND n <= ?", (cursor,)).fetchone()
    return int(row[0])
