"""An in-process publish/subscribe bus for live events (caller pop, new SMS, health).

The store stays the source of truth; the bus only tells live viewers (the status
page's live channel, the GPIO lights) *now* what they would otherwise find at
their next read. Publishing never blocks and never fails: each subscriber has a
bounded queue, and a subscriber that falls behind loses its oldest events and is
told so (``dropped`` on the next event it reads), so one stuck browser cannot
hold the daemon's memory or delay a call.

Usage::

    bus.publish("caller_pop", {"call_id": 7, "number": "+358401234567", ...})

    async with bus.subscribe({"caller_pop", "sms_in"}) as sub:
        async for event in sub:
            ...  # event.topic, event.data, event.ts, event.dropped

``publish`` is safe from any thread once :meth:`Bus.bind` has been given the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

SUBSCRIBER_QUEUE_BOUND = 256  # events kept per slow subscriber before the oldest are dropped
MAX_SUBSCRIBERS = 200  # live viewers at once; more are refused (BusFull)


class BusFull(RuntimeError):
    """Too many live subscribers at once."""


@dataclass(frozen=True)
class BusEvent:
    """One published event: its topic, its JSON-able data, when (monotonic s and wall ms)."""

    topic: str
    data: dict[str, Any]
    monotonic: float
    ts_ms: int
    dropped: int = 0  # events this subscriber lost before this one (queue overflow)


class Subscription:
    """A subscriber's bounded queue; iterate it inside ``async with bus.subscribe(...)``."""

    def __init__(self, topics: frozenset[str] | None) -> None:
        self.topics = topics
        self._queue: collections.deque[BusEvent] = collections.deque(maxlen=SUBSCRIBER_QUEUE_BOUND)
        self._dropped = 0
        self._ready = asyncio.Event()

    def _offer(self, event: BusEvent) -> None:
        if self.topics is not None and event.topic not in self.topics:
            return
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
        self._queue.append(event)
        self._ready.set()

    async def get(self, timeout: float | None = None) -> BusEvent | None:
        """The next event, or None after ``timeout`` seconds with none."""
        while not self._queue:
            self._ready.clear()
            if timeout is None:
                await self._ready.wait()
            else:
                try:
                    async with asyncio.timeout(timeout):
                        await self._ready.wait()
                except TimeoutError:
                    return None
        event = self._queue.popleft()
        if self._dropped:
            event = BusEvent(event.topic, event.data, event.monotonic, event.ts_ms, self._dropped)
            self._dropped = 0
        return event

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusEvent]:
        while True:
            event = await self.get()
            if event is not None:
                yield event


class Bus:
    """Named live events from the parts to whoever listens (see the module docstring)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Hand ``data`` to every subscriber of ``topic``; never blocks, safe from any thread."""
        event = BusEvent(topic, data, time.monotonic(), int(time.time() * 1000))
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._deliver(event)
        else:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: BusEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub._offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: Iterable[str] | None = None) -> AsyncIterator[Subscription]:
        """Subscribe to ``topics`` (all when None) for the duration of the ``async with``."""
        sub = Subscription(frozenset(topics) if topics is not None else None)
        with self._lock:
            if len(self._subscribers) >= MAX_SUBSCRIBERS:
                raise BusFull(f"{MAX_SUBSCRIBERS} live subscribers already")
            self._subscribers.append(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subscribers.remove(sub)
