"""The phone line as a supervised part (``name = "line"``).

Opens the driver ``line.driver`` names (:func:`build_driver`), keeps it open (a
device that is not there is retried with back-off; a driver whose device vanishes
recovers by itself and says so with ``device_lost``/``device_back``), reports
health (``state``, ``device``, ``simulated``) and hands every :class:`LineEvent`
to its consumer, in order:

- ``LineService(ctx, handler)`` or ``service.set_handler(handler)``: ``handler(event)``
  is called for each event; if it returns an awaitable, that is awaited before the
  next event (keep it short: run a call in your own task);
- without a handler, events go to ``service.queue`` (bounded; the oldest is dropped
  and counted when nobody reads).

``service.driver`` is the open :class:`~appliance.line.base.LineDriver` (None while
the device is away); ``await service.wait_driver()`` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.daemon.service import Service
from appliance.errors import ApplianceError, DeviceError
from appliance.line.base import EVENT_QUEUE_BOUND, EventKind, LineDriver, LineEvent

if TYPE_CHECKING:
    from appliance.config import Config
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

OPEN_BACKOFF_S = 1.0
OPEN_BACKOFF_MAX_S = 60.0
SIM_CONTROL_NAME = "line-sim.sock"

Handler = Callable[[LineEvent], Any]


def build_driver(config: Config, data_dir: Path | None = None) -> LineDriver:
    """The driver ``line.driver`` names, configured (not opened)."""
    cfg = config.line
    country = config.site.country
    if cfg.driver == "sim":
        from appliance.line.sim import SimLine

        return SimLine(
            country=country,
            tone_country=cfg.tone_country,
            standard=cfg.sim_standard,
            speed=cfg.sim_speed,
            control=(data_dir or config.db_path.parent) / SIM_CONTROL_NAME,
            echo_db=cfg.sim_echo_db,
            random_calls_per_hour=cfg.sim_random_calls_per_hour,
            hangup_silence_s=cfg.hangup_silence,
        )
    if cfg.driver == "v253":
        from appliance.line.v253 import V253Line

        if not cfg.port:
            raise ApplianceError("line.driver = v253 needs line.port (e.g. /dev/ttyACM0)")
        return V253Line(
            cfg.port,
            baudrate=cfg.baudrate,
            country=country,
            tone_country=cfg.tone_country,
            hangup_silence_s=cfg.hangup_silence,
        )
    if cfg.driver == "usbbox":
        from appliance.line.usbbox import UsbBoxLine

        return UsbBoxLine.from_config(
            vid_pid=cfg.usb_vid_pid,
            audio=cfg.usb_audio,
            country=country,
            tone_country=cfg.tone_country,
            hangup_silence_s=cfg.hangup_silence,
        )
    raise ApplianceError(f"line.driver {cfg.driver!r} has no driver")


class LineService(Service):
    """See the module docstring."""

    name = "line"

    def __init__(
        self,
        ctx: AppContext,
        handler: Handler | None = None,
        *,
        driver_factory: Callable[[], LineDriver] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.handler = handler
        self.queue: asyncio.Queue[LineEvent] = asyncio.Queue(EVENT_QUEUE_BOUND)
        self.queue_dropped = 0
        self.driver: LineDriver | None = None
        self._factory = driver_factory or (lambda: build_driver(ctx.config))
        self._driver_ready = asyncio.Event()
        self._stopping = False
        self._device_present = False
        self.opens = 0

    def set_handler(self, handler: Handler | None) -> None:
        self.handler = handler

    async def wait_driver(self) -> LineDriver:
        await self._driver_ready.wait()
        assert self.driver is not None
        return self.driver

    async def run(self) -> None:
        delay = OPEN_BACKOFF_S
        while not self._stopping:
            driver: LineDriver | None = None
            try:
                driver = self._factory()  # may look for the device (USB box) and not find it
                await driver.open()
            except (DeviceError, OSError) as err:
                name = driver.name if driver is not None else self.ctx.config.line.driver
                self.set_health("failed", f"cannot open the line: {err}; retrying in {delay:.0f} s", driver=name)
                log.warning("line %s: %s; retrying in %.0f s", name, err, delay)
                if driver is not None:
                    with contextlib.suppress(Exception):
                        await driver.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, OPEN_BACKOFF_MAX_S)
                continue
            delay = OPEN_BACKOFF_S
            self.opens += 1
            self.driver = driver
            self._device_present = True
            self._driver_ready.set()
            self._report()
            try:
                async for event in driver.events():
                    if event.kind == EventKind.DEVICE_LOST:
                        self._device_present = False
                    elif event.kind == EventKind.DEVICE_BACK:
                        self._device_present = True
                    self._report()  # listeners hear only of changes
                    await self._dispatch(event)
            finally:
                self._driver_ready.clear()
                self.driver = None
                with contextlib.suppress(Exception):
                    await asyncio.shield(driver.close())
            if not self._stopping:
                log.warning("line %s: the driver stopped by itself; reopening", driver.name)
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        self._stopping = True
        driver = self.driver
        if driver is not None:
            await driver.close()  # on-hook, release the device; ends the events() loop

    async def _dispatch(self, event: LineEvent) -> None:
        handler = self.handler
        if handler is None:
            if self.queue.full():
                self.queue.get_nowait()
                self.queue_dropped += 1
            self.queue.put_nowait(event)
            return
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a consumer's bug must not stop the line
            log.exception("line event handler failed on %s", event.kind)

    def _report(self) -> None:
        driver = self.driver
        if driver is None:
            return
        info: dict[str, Any] = {
            "driver": driver.name,
            "device": str(getattr(driver, "device", driver.name)),
            "line_state": str(driver.state),
            "simulated": driver.capabilities.simulated,
        }
        if self._device_present:
            detail = f"{driver.name} line {driver.state}" + (" (SIMULATED)" if driver.capabilities.simulated else "")
            self.set_health("ok", detail, **info)
        else:
            self.set_health("degraded", f"{driver.name} line device gone; waiting for it to come back", **info)
