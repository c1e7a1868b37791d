"""In-process wake-ups between parts: "there is new work in the store, look now".

The store is the source of truth; a wake-up only saves the waiting part a poll
interval. A part that misses one (or work written by another process, such as
``appliance sms send``) still finds the work at its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib


class Wakeups:
    """Named edge-triggered signals: ``notify("sms_outbox")``, ``await wait("sms_outbox", 5)``."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _event(self, name: str) -> asyncio.Event:
        if name not in self._events:
            self._events[name] = asyncio.Event()
        return self._events[name]

    def notify(self, name: str) -> None:
        """Wake whoever waits on ``name``; safe from any thread (store thread, MQTT thread)."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._event(name).set()
        else:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(lambda: self._event(name).set())

    async def wait(self, name: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for ``name``; True if woken. Clears the signal."""
        event = self._event(name)
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            return False
        finally:
            event.clear()
        return True
