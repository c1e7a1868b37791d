"""The lights part: the GPIO panel follows the alerts and the line (off when no pin is set).

Listens on the bus (``alert``, ``line_state``) and re-reads the open alerts; the
panel's button acknowledges every open alert in the name of ``panel``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from appliance import alerts
from appliance.aio import cancel_and_wait
from appliance.daemon.service import Service
from appliance.gpio.panel import Panel, Pins

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

REFRESH_S = 10.0  # the alerts are re-read at least this often


class LightsService(Service):
    name = "lights"

    def __init__(self, ctx: AppContext, pin_factory: Any = None) -> None:
        super().__init__()
        self.ctx = ctx
        cfg = ctx.config.gpio
        self.pins = Pins(cfg.status_led, cfg.call_led, cfg.buzzer, cfg.button)
        self.pin_factory = pin_factory
        self.panel: Panel | None = None
        self.line = "idle"
        self._button = asyncio.Event()

    async def _open_alerts(self) -> bool:
        found = await self.ctx.store.run(alerts.list_alerts, self.ctx.store)
        return any(a.state == "open" for a in found)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def pressed() -> None:  # gpiozero calls this from its own thread
            loop.call_soon_threadsafe(self._button.set)

        self.panel = Panel(self.pins, self.pin_factory, on_button=pressed)
        self.set_health("ok", f"pins {self.pins}")
        try:
            async with self.ctx.bus.subscribe({"alert", "line_state"}) as sub:
                while True:
                    self.panel.show(alert=await self._open_alerts(), line=self.line)
                    waiter = asyncio.create_task(sub.get(REFRESH_S))
                    button = asyncio.create_task(self._button.wait())
                    try:
                        done, _ = await asyncio.wait({waiter, button}, return_when=asyncio.FIRST_COMPLETED)
                    finally:  # also when this part is cancelled: no waiter outlives it
                        await cancel_and_wait(*(t for t in (waiter, button) if not t.done()))
                    if button in done:
                        self._button.clear()
                        acked = await self.ctx.store.run(alerts.acknowledge_all, self.ctx.store, "panel")
                        for alert_id in acked:
                            self.ctx.bus.publish("alert", {"alert_id": alert_id, "kind": "", "state": "acknowledged"})
                    event = waiter.result() if waiter in done else None
                    if event is not None and event.topic == "line_state":
                        self.line = str(event.data.get("state", "idle"))
        finally:
            self.panel.close()
            self.panel = None
