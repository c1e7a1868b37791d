"""The line part: opens the configured driver, retries one that is not there, reports
health (SIMULATED for the sim), hands events to its consumer and hangs up on stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.config import Config, load_config
from appliance.daemon.app import build_services
from appliance.daemon.context import AppContext
from appliance.errors import DeviceGone
from appliance.line.base import EventKind, LineEvent, LineState
from appliance.line.service import SIM_CONTROL_NAME, LineService, build_driver
from appliance.line.sim import SimLine
from appliance.store.db import Store
from tests.line.conftest import run


def make_config(tmp_path: Path, **line: str) -> Config:
    env = {
        "APPLIANCE_STORAGE__PATH": str(tmp_path / "appliance.db"),
        "APPLIANCE_MODEM__DRIVER": "none",
        "APPLIANCE_LINE__DRIVER": "sim",
        "APPLIANCE_LINE__SIM_SPEED": "0",
    }
    env.update({f"APPLIANCE_LINE__{k.upper()}": v for k, v in line.items()})
    return load_config(None, env)


def test_config_defaults_of_the_line() -> None:
    cfg = load_config(None, {}).line
    assert cfg.rings_before_answer == 4
    assert cfg.record_calls is False
    assert cfg.language == "en"
    assert cfg.driver == "sim"


def test_the_daemon_wires_the_line_part_unless_none(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        names = [s.name for s in build_services(AppContext(config=make_config(tmp_path), store=store))]
        assert "line" in names
        none = make_config(tmp_path, driver="none")
        assert "line" not in [s.name for s in build_services(AppContext(config=none, store=store))]
    finally:
        store.close()


def test_service_runs_the_sim_reports_health_and_feeds_the_handler(tmp_path: Path) -> None:
    config = make_config(tmp_path, sim_standard="v23")
    store = Store.open(config.db_path)
    got: list[LineEvent] = []
    seen_cid = asyncio.Event

    async def main() -> None:
        ctx = AppContext(config=config, store=store)
        cid = seen_cid()

        async def handler(event: LineEvent) -> None:
            got.append(event)
            if event.kind == EventKind.CALLER_ID:
                cid.set()

        service = LineService(ctx, handler)
        task = asyncio.create_task(service.run())
        driver = await asyncio.wait_for(service.wait_driver(), 10)
        assert isinstance(driver, SimLine)
        assert (tmp_path / SIM_CONTROL_NAME).exists()
        assert service.health.state == "ok"
        assert service.health.info["simulated"] is True
        assert "SIMULATED" in service.health.detail
        driver.exchange.incoming("0401234567", "ANNA")
        await asyncio.wait_for(cid.wait(), 10)
        await driver.off_hook()
        driver.unplug()
        await asyncio.sleep(0.05)
        assert service.health.state == "degraded"
        driver.replug()
        await asyncio.sleep(0.05)
        assert service.health.state == "ok"
        await service.stop()
        await asyncio.wait_for(task, 5)
        assert not driver.exchange.appliance_off_hook
        assert not (tmp_path / SIM_CONTROL_NAME).exists()

    try:
        run(main())
    finally:
        store.close()
    kinds = [e.kind for e in got]
    assert kinds.index(EventKind.CALLER_ID) < kinds.index(EventKind.DEVICE_LOST) < kinds.index(EventKind.DEVICE_BACK)


class _AbsentThenPresent(SimLine):
    """A sim whose device is missing for the first opens (a modem not plugged in yet)."""

    opens = 0

    async def open(self) -> None:
        type(self).opens += 1
        if type(self).opens < 3:
            raise DeviceGone("no such device /dev/ttyACM0")
        await super().open()


def test_a_missing_device_is_retried_with_back_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import appliance.line.service as svc

    monkeypatch.setattr(svc, "OPEN_BACKOFF_S", 0.01)
    config = make_config(tmp_path)
    store = Store.open(config.db_path)
    states: list[str] = []

    async def main() -> None:
        ctx = AppContext(config=config, store=store)
        service = LineService(ctx, driver_factory=lambda: _AbsentThenPresent(speed=0))
        service.add_health_listener(lambda name, h: states.append(h.state))
        task = asyncio.create_task(service.run())
        driver = await asyncio.wait_for(service.wait_driver(), 10)
        assert driver.state == LineState.IDLE
        # without a handler, events wait in the bounded queue
        assert isinstance(driver, SimLine)
        driver.exchange.incoming("0401234567", max_rings=1)
        ev = await asyncio.wait_for(service.queue.get(), 10)
        assert ev.kind in (EventKind.CALLER_ID, EventKind.RING)
        await service.stop()
        await asyncio.wait_for(task, 5)

    try:
        run(main())
    finally:
        store.close()
    assert states[0] == "failed" and "ok" in states, states
    assert _AbsentThenPresent.opens == 3


class _Chatty(SimLine):
    async def _iter_events(self) -> AsyncIterator[LineEvent]:
        for i in range(700):
            yield LineEvent(EventKind.SILENCE, float(i), "dsp", {"seconds": i})
        await asyncio.Event().wait()


def test_the_queue_without_a_consumer_is_bounded(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store.open(config.db_path)

    async def main() -> None:
        service = LineService(AppContext(config=config, store=store), driver_factory=lambda: _Chatty(speed=0))
        task = asyncio.create_task(service.run())
        await asyncio.wait_for(service.wait_driver(), 10)
        for _ in range(100):
            await asyncio.sleep(0)
        assert service.queue.qsize() == service.queue.maxsize
        assert service.queue_dropped == 700 - service.queue.maxsize
        first = service.queue.get_nowait()
        assert first.data["seconds"] == 700 - service.queue.maxsize  # the oldest went
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert service.driver is None

    try:
        run(main())
    finally:
        store.close()


def test_build_driver_refuses_what_it_cannot_build(tmp_path: Path) -> None:
    config = make_config(tmp_path, driver="none")
    with pytest.raises(Exception, match="no driver"):
        build_driver(config)


def test_the_v253_driver_opens_the_configured_port_through_the_service(tmp_path: Path) -> None:
    from appliance.line.v253 import V253Line
    from appliance.line.v253_sim import V253Simulator

    with V253Simulator("usr5637", link=tmp_path / "ttyACM0", speed=4) as sim:
        config = make_config(tmp_path, driver="v253", port=str(tmp_path / "ttyACM0"))
        store = Store.open(config.db_path)

        async def main() -> None:
            service = LineService(AppContext(config=config, store=store))
            task = asyncio.create_task(service.run())
            driver = await asyncio.wait_for(service.wait_driver(), 10)
            assert isinstance(driver, V253Line)
            assert service.health.state == "ok" and service.health.info["simulated"] is False
            assert "U.S. Robotics" in service.health.info["device"]
            await service.stop()
            await asyncio.wait_for(task, 5)

        try:
            run(main())
        finally:
            store.close()
        assert not sim.state()["off_hook"]


def test_v253_without_a_port_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"needs line\.port"):
        build_driver(make_config(tmp_path, driver="v253"))
