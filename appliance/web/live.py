"""The live channel: one feeder in the daemon's loop, fanned out to every viewer over SSE.

One task subscribes to the bus and reads the dashboard's figures (on a change,
and every ``REFRESH_S`` for the slow ones), evaluates the alerts, and hands each
viewer the result through the viewer's own bounded queue. The cost of the store
reads does not grow with the number of viewers; a viewer that does not read
loses its oldest updates (it gets the whole dashboard again with the next one).
A caller pop is looked up once and sent at once, ahead of the figures.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance import alerts
from appliance.aio import cancel_and_wait
from appliance.bus import BusEvent
from appliance.errors import StoreError
from appliance.web import data

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext
    from appliance.daemon.supervisor import Supervisor

log = logging.getLogger(__name__)

REFRESH_S = 2.0  # the figures are re-read at least this often
DEBOUNCE_S = 0.1  # events arriving together cause one re-read
HEARTBEAT_S = 5.0  # a comment line on every channel, so the page can tell a stale channel
VIEWER_QUEUE = 32  # updates kept for a viewer that is slow to read
MAX_VIEWERS = 100  # live channels at once; more get 503
POP_KEEP_S = 120.0  # a caller pop is shown to a page opened this long after it
TOPICS = {"caller_pop", "line_state", "call_ended", "sms_in", "sms_status", "health", "complaint", "alert"}


class ViewerLimit(Exception):
    """Too many live viewers."""


class Viewer:
    """One browser's live channel: a bounded queue of (event name, JSON text)."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.queue: collections.deque[tuple[str, str]] = collections.deque(maxlen=VIEWER_QUEUE)
        self.ready = asyncio.Event()
        self.dropped = 0

    def offer(self, name: str, payload: str) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1
        self.queue.append((name, payload))
        self.ready.set()

    async def next(self, timeout: float) -> tuple[str, str] | None:
        if not self.queue:
            self.ready.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.ready.wait()
        return self.queue.popleft() if self.queue else None


class LiveHub:
    """Feeds the dashboard (see the module docstring)."""

    def __init__(self, ctx: AppContext, supervisor: Supervisor) -> None:
        self.ctx = ctx
        self.supervisor = supervisor
        self.viewers: set[Viewer] = set()
        self.snapshot: dict[str, Any] = {}
        self.snapshot_json = "{}"
        self.line: dict[str, Any] = {"state": "idle" if self._line_present() else "absent", "call_id": None}
        self.last_pop: tuple[float, str] | None = None
        self._dirty = asyncio.Event()
        self.on_alerts: list[Callable[[list[dict[str, Any]]], None]] = []
        self.on_line: list[Callable[[str], None]] = []

    def _line_present(self) -> bool:
        return self.ctx.config.line.driver != "none"

    def simulated(self) -> dict[str, bool]:
        """Which parts are simulators (shown as SIMULATED everywhere)."""
        cfg = self.ctx.config
        return {"modem": cfg.modem.driver == "sim", "line": cfg.line.driver == "sim"}

    # -- viewers ---------------------------------------------------------------------------

    def add_viewer(self, username: str) -> Viewer:
        if len(self.viewers) >= MAX_VIEWERS:
            raise ViewerLimit(f"{MAX_VIEWERS} live viewers already")
        viewer = Viewer(username)
        self.viewers.add(viewer)
        viewer.offer("dashboard", self.snapshot_json)
        if self.last_pop and time.monotonic() - self.last_pop[0] < POP_KEEP_S:
            viewer.offer("caller_pop", self.last_pop[1])
        return viewer

    def remove_viewer(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def _broadcast(self, name: str, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, default=str)
        for viewer in list(self.viewers):
            viewer.offer(name, text)

    # -- the feeder -------------------------------------------------------------------------

    async def run(self) -> None:
        """Read, evaluate, broadcast; forever (a task of the web part)."""
        async with self.ctx.bus.subscribe(TOPICS) as sub:
            listener = asyncio.create_task(self._listen(sub), name="live-bus")
            try:
                while True:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(REFRESH_S):
                            await self._dirty.wait()
                    self._dirty.clear()
                    try:
                        await self.refresh()
                    except StoreError as err:
                        log.warning("live dashboard: store unreadable: %s", err)
                    await asyncio.sleep(DEBOUNCE_S)
            finally:
                await cancel_and_wait(listener)
                self.snapshot, self.last_pop = {}, None

    async def _listen(self, sub: Any) -> None:
        async for event in sub:
            await self.handle(event)

    async def handle(self, event: BusEvent) -> None:
        if event.topic == "caller_pop":
            try:
                card = await self.ctx.store.run(data.caller_card, self.ctx.store, event.data)
            except StoreError as err:
                log.warning("caller pop: store unreadable (%s); showing the line's data only", err)
                card = {"number": event.data.get("number"), "name_on_line": event.data.get("name_on_line")}
            card["published_ms"] = event.ts_ms
            card["at"] = event.data.get("at")
            text = json.dumps(card, default=str)
            self.last_pop = (time.monotonic(), text)
            for viewer in list(self.viewers):
                viewer.offer("caller_pop", text)
        elif event.topic == "line_state":
            self.line = {"state": str(event.data.get("state", "")), "call_id": event.data.get("call_id")}
            self._broadcast("line_state", self.line)
            for cb in self.on_line:
                cb(self.line["state"])
        elif event.topic == "sms_in":
            self._broadcast("sms_in", {"message_id": event.data.get("message_id"), "published_ms": event.ts_ms})
        self._dirty.set()

    async def refresh(self) -> dict[str, Any]:
        """Re-read the figures, update the alerts, send the dashboard if it changed."""
        healths = {n: h.as_dict() for n, h in self.supervisor.healths().items()}
        tz = self.ctx.config.site.timezone
        facts = await self.ctx.store.run(data.dashboard_facts, self.ctx.store, tz)
        modem = healths.get("modem")
        conditions = alerts.evaluate({**facts, "modem": modem, "now": time.time()})
        changed = await self.ctx.store.run(alerts.reconcile, self.ctx.store, conditions)
        for alert in changed:
            self.ctx.bus.publish("alert", {"alert_id": alert.alert_id, "kind": alert.kind, "state": alert.state})
        if changed:
            facts["alerts"] = [a.as_dict() for a in await self.ctx.store.run(alerts.list_alerts, self.ctx.store)]
        snapshot = {
            "parts": healths,
            "simulated": self.simulated(),
            "line": self.line,
            **facts,
        }
        for cb in self.on_alerts:
            cb(facts["alerts"])
        text = json.dumps(snapshot, default=str, sort_keys=True)
        if text != self.snapshot_json:
            # kept as plain data only: the parts' health info may hold live objects
            self.snapshot, self.snapshot_json = json.loads(text), text
            for viewer in list(self.viewers):
                viewer.offer("dashboard", text)
        return snapshot

    def poke(self) -> None:
        """Re-read soon (after an action on the page)."""
        self._dirty.set()
