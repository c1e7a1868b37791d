"""Lights, buzzer and button with gpiozero's mock pins, driven like real pins."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from appliance import alerts
from appliance.config import load_config
from appliance.daemon.context import AppContext
from appliance.daemon.lights import LightsService
from appliance.gpio.panel import Panel, Pins
from appliance.store.db import Store

STATUS, CALL, BUZZER, BUTTON = 17, 27, 22, 5


def _blinking(pin: Any, seconds: float = 0.8) -> bool:
    seen = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        seen.add(bool(pin.state))
        time.sleep(0.02)
    return seen == {True, False}


@pytest.fixture
def factory() -> Any:
    f = MockFactory()
    yield f
    f.reset()


def test_panel_follows_alerts_and_the_line_and_the_button_silences(factory: Any) -> None:
    pressed = []
    panel = Panel(Pins(STATUS, CALL, BUZZER, BUTTON), factory, on_button=lambda: pressed.append(1))
    status, call, buzzer, button = (factory.pin(n) for n in (STATUS, CALL, BUZZER, BUTTON))
    try:
        panel.show(alert=False, line="idle")
        assert status.state and not call.state and not buzzer.state
        panel.show(alert=True, line="ringing")
        assert _blinking(status) and _blinking(call) and _blinking(buzzer, 1.5)
        button.drive_low()  # pressed (pull-up)
        button.drive_high()
        assert pressed == [1] and panel.silenced
        time.sleep(0.1)
        assert not _blinking(buzzer, 1.2) and not buzzer.state
        panel.show(alert=True, line="waiting_for_desk")  # the same call: stays silenced
        assert call.state and not _blinking(call, 0.4) and not buzzer.state
        panel.show(alert=False, line="idle")
        panel.show(alert=False, line="ringing")  # a new call beeps again
        assert _blinking(buzzer, 1.5) and status.state and not _blinking(status, 0.4)
    finally:
        panel.close()


def test_no_pins_set_means_no_lights_part(tmp_path: Path) -> None:
    from appliance.daemon.app import build_services

    config = load_config(None, {"APPLIANCE_DATA_DIR": str(tmp_path), "APPLIANCE_MODEM__DRIVER": "none",
                                "APPLIANCE_LINE__DRIVER": "none"})
    store = Store.open(tmp_path / "a.db")
    try:
        names = [s.name for s in build_services(AppContext(config=config, store=store))]
        assert "lights" not in names
    finally:
        store.close()


def test_lights_part_blinks_on_an_open_alert_and_the_button_acknowledges(tmp_path: Path, factory: Any) -> None:
    async def main() -> None:
        config = load_config(None, {
            "APPLIANCE_DATA_DIR": str(tmp_path), "APPLIANCE_GPIO__STATUS_LED": str(STATUS),
            "APPLIANCE_GPIO__CALL_LED": str(CALL), "APPLIANCE_GPIO__BUZZER": str(BUZZER),
            "APPLIANCE_GPIO__BUTTON": str(BUTTON),
        })
        store = Store.open(tmp_path / "a.db")
        ctx = AppContext(config=config, store=store)
        ctx.bus.bind(asyncio.get_running_loop())
        service = LightsService(ctx, pin_factory=factory)
        task = asyncio.create_task(service.run())
        status, call, button = factory.pin(STATUS), factory.pin(CALL), factory.pin(BUTTON)
        try:
            await asyncio.sleep(0.2)
            assert status.state and not call.state  # all well: steady
            await store.run(alerts.reconcile, store, {("low_signal", ""): "signal 4/31"})
            ctx.bus.publish("alert", {"alert_id": 1, "kind": "low_signal", "state": "open"})
            ctx.bus.publish("line_state", {"state": "ringing", "call_id": 1})
            await asyncio.sleep(0.2)
            assert await asyncio.to_thread(_blinking, status) and await asyncio.to_thread(_blinking, call)
            button.drive_low()
            button.drive_high()
            for _ in range(50):
                await asyncio.sleep(0.05)
                if all(a.state == "acknowledged" for a in await store.run(alerts.list_alerts, store)):
                    break
            found = await store.run(alerts.list_alerts, store)
            assert [(a.state, a.acknowledged_by) for a in found] == [("acknowledged", "panel")]
            await asyncio.sleep(0.2)
            assert status.state and not await asyncio.to_thread(_blinking, status, 0.5)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            store.close()

    asyncio.run(main())
