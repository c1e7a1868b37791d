"""The call flow end to end: the real LineService + sim line (audio through the C DSP) + CallsService.

``CallRig`` runs both parts on a store in a temp dir with the sim at speed 0 (line
time as fast as the loop goes). Prompts are built once per session and shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.bus import BusEvent
from appliance.calls import jobs
from appliance.calls.menu import load_menu
from appliance.calls.prompts import PromptLibrary
from appliance.calls.records import get_call
from appliance.calls.service import CallsService
from appliance.config import Config, load_config
from appliance.daemon.context import AppContext
from appliance.line.base import LineDriver
from appliance.line.service import LineService
from appliance.line.sim import SimLine
from appliance.store.db import Store


@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("built-prompts")
    PromptLibrary(load_menu(None), d).build_all()
    return d


def rig_config(tmp_path: Path, **line: str) -> Config:
    env = {
        "APPLIANCE_STORAGE__PATH": str(tmp_path / "appliance.db"),
        "APPLIANCE_MODEM__DRIVER": "none",
        "APPLIANCE_LINE__DRIVER": "sim",
        "APPLIANCE_LINE__SIM_SPEED": "0",
        "APPLIANCE_LINE__RINGS_BEFORE_ANSWER": "2",
        "APPLIANCE_SITE__COUNTRY": "FI",
        "APPLIANCE_STORAGE__MIN_FREE_MB": "1",
    }
    env.update({f"APPLIANCE_LINE__{k.upper()}": v for k, v in line.items()})
    return load_config(None, env)


class CallRig:
    def __init__(self, config: Config, prompts_dir: Path, driver: LineDriver | None = None) -> None:
        self.config = config
        self.prompts_dir = prompts_dir
        self.driver: LineDriver = driver or SimLine(country=config.site.country, speed=0, echo_db=-30.0,
                                                    hangup_silence_s=config.line.hangup_silence)
        self.bus_events: list[BusEvent] = []

    @property
    def sim(self) -> SimLine:
        assert isinstance(self.driver, SimLine)
        return self.driver

    async def __aenter__(self) -> CallRig:
        self.store = Store.open(self.config.db_path)
        self.ctx = AppContext(config=self.config, store=self.store)
        loop = asyncio.get_running_loop()
        self.ctx.bus.bind(loop)
        self.ctx.wakeups.bind(loop)
        self.store.on_commit_signal = self.ctx.wakeups.notify
        self.line = LineService(self.ctx, driver_factory=lambda: self.driver)
        self.calls = CallsService(self.ctx, self.line, prompts_dir=self.prompts_dir)
        self._sub_cm = self.ctx.bus.subscribe()
        self.sub = await self._sub_cm.__aenter__()
        self.tasks = [asyncio.create_task(self.line.run()), asyncio.create_task(self.calls.run()),
                      asyncio.create_task(self._collect())]
        await self.line.wait_driver()
        while self.calls.health.state != "ok":
            await asyncio.sleep(0.01)
        return self

    async def _collect(self) -> None:
        async for ev in self.sub:
            self.bus_events.append(ev)

    async def __aexit__(self, *exc: object) -> None:
        await self.calls.stop()
        await self.line.stop()
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self._sub_cm.__aexit__(None, None, None)
        self.store.close()

    def events(self, topic: str) -> list[dict[str, Any]]:
        return [e.data for e in self.bus_events if e.topic == topic]

    async def wait_bus(self, topic: str, pred: Callable[[dict[str, Any]], bool] = lambda d: True,
                       timeout: float = 60.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for e in self.bus_events:
                    if e.topic == topic and pred(e.data):
                        return e.data
                await asyncio.sleep(0.005)

        return await asyncio.wait_for(find(), timeout)

    async def job_ended(self, job_id: int, timeout: float = 100.0) -> jobs.CallJob:
        """The outbound call job once it is done or failed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.store.run(jobs.get_job, self.store, job_id)  # the store's thread: the parts run
            assert job is not None
            if job.status in ("done", "failed") or asyncio.get_running_loop().time() > deadline:
                return job
            await asyncio.sleep(0.05)

    async def incoming(self, number: str | None, name: str | None = None, *, script: Any = None,
                       standard: str | None = None, reason: str | None = None, max_rings: int = 10,
                       during: Callable[[], Awaitable[None]] | None = None, timeout: float = 120.0,
                       ring: Callable[[], None] | None = None) -> dict[str, Any]:
        """One incoming call to its end (``ring`` starts it on another driver's simulator); its ``calls`` row."""
        ended_before = len(self.events("call_ended"))
        if ring is not None:
            ring()
        else:
            self.sim.exchange.incoming(number, name, standard=standard, reason=reason, script=script,
                                       max_rings=max_rings)
        if during is not None:
            await during()

        async def ended() -> dict[str, Any]:
            while len(self.events("call_ended")) <= ended_before:
                await asyncio.sleep(0.005)
            return self.events("call_ended")[ended_before]

        done = await asyncio.wait_for(ended(), timeout)
        row = await self.store.run(get_call, self.store, done["call_id"])
        assert row is not None
        # the line is idle again and on-hook
        await asyncio.sleep(0)
        return row


@contextlib.asynccontextmanager
async def call_rig(tmp_path: Path, prompts_dir: Path, **line: str) -> AsyncIterator[CallRig]:
    async with CallRig(rig_config(tmp_path, **line), prompts_dir) as rig:
        yield rig


def run(coro: Awaitable[Any], timeout: float = 180.0) -> Any:
    """``asyncio.run`` on a thread of its own (the browser tests keep a loop running on the main thread)."""

    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    result: list[Any] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(main()))
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            error.append(err)

    thread = threading.Thread(target=target, name="calls-test-loop")
    thread.start()
    thread.join(timeout + 30)
    if error:
        raise error[0]
    assert result, f"the event loop did not finish in {timeout} s"
    return result[0]
