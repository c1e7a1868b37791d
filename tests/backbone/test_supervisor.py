"""The supervisor restarts a failing part with back-off and leaves the others running."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.daemon import supervisor as sup
from appliance.daemon.context import AppContext
from appliance.daemon.notify import Notifier
from appliance.daemon.service import Service
from appliance.store.db import Store


class Flaky(Service):
    name = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise OSError(f"port vanished (run {self.runs})")
        self.set_health("ok", "recovered")
        await asyncio.Event().wait()


class Steady(Service):
    name = "steady"

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self.parked = False

    async def run(self) -> None:
        self.runs += 1
        self.set_health("ok", "fine", figure=42)
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.parked = True


class Stubborn(Service):
    """A part whose stop() never returns: the supervisor must not wait for it forever."""

    name = "stubborn"

    async def run(self) -> None:
        self.set_health("ok")
        await asyncio.Event().wait()

    async def stop(self) -> None:
        await asyncio.sleep(3600)


def test_failing_part_restarts_with_backoff_without_touching_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sup, "BACKOFF_INITIAL_S", 0.05)
    monkeypatch.setattr(sup, "STOP_BUDGET_S", 0.5)
    store = Store.open(tmp_path / "a.db")
    flaky, steady, stubborn = Flaky(failures=3), Steady(), Stubborn()

    async def scenario() -> None:
        ctx = AppContext(config=load_config(environ={}), store=store)
        supervisor = sup.Supervisor(ctx, Notifier())
        supervisor.add([flaky, steady, stubborn])
        await supervisor.start()
        for _ in range(200):
            if flaky.health.state == "ok":
                break
            await asyncio.sleep(0.05)
        assert flaky.health.state == "ok"
        assert flaky.runs == 4 and flaky.health.restarts == 3
        assert "port vanished (run 3)" in (flaky.health.last_error or "")
        assert steady.runs == 1 and steady.health.state == "ok"
        await asyncio.sleep(0.2)
        rows = dict(store.conn.execute("SELECT name, state FROM service_health").fetchall())
        assert rows["flaky"] == "ok" and rows["steady"] == "ok"
        info = json.loads(store.conn.execute("SELECT info FROM service_health WHERE name='steady'").fetchone()[0])
        assert info == {"figure": 42}
        await asyncio.wait_for(supervisor.stop(), 5)
        assert steady.parked

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_backoff_doubles_to_a_ceiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(sup, "BACKOFF_JITTER", 0.0)
    store = Store.open(tmp_path / "a.db")

    async def scenario() -> None:
        ctx = AppContext(config=load_config(environ={}), store=store)
        supervisor = sup.Supervisor(ctx, Notifier())
        flaky = Flaky(failures=9)
        supervisor.add([flaky])
        monkeypatch.setattr(sup.asyncio, "sleep", recording_sleep)
        task = asyncio.create_task(supervisor._keep_running(flaky))
        while flaky.runs < 10:
            await real_sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(scenario())
    finally:
        store.close()
    assert delays[:8] == [1, 2, 4, 8, 16, 32, 60, 60]
