"""Fixtures of the modem tests: simulated modems on ptys, a modem service over a real store."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Config, load_config
from appliance.daemon.context import AppContext
from appliance.modem import service as service_mod
from appliance.modem.service import ModemService
from appliance.modem.simulator import SimulatedModem
from appliance.store.db import Store

PROFILES = ("sim800", "sim7600", "ec25", "huawei")


@pytest.fixture
def quick_housekeeping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's housekeeping (multipart timeouts among it) every 0.3 s instead of a minute."""
    monkeypatch.setattr(service_mod, "HOUSEKEEPING_S", 0.3)


@pytest.fixture
def sims() -> Iterator[Callable[..., SimulatedModem]]:
    """Start simulated modems; every one is stopped at the end of the test."""
    started: list[SimulatedModem] = []

    def start(profile: str = "sim800", **kw: Any) -> SimulatedModem:
        kw.setdefault("cmgs_delay_s", 0.05)
        kw.setdefault("report_delay_s", 0.1)
        sim = SimulatedModem(profile, **kw).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def make_config(tmp_path: Path, port: str, **modem: str) -> Config:
    env = {
        "APPLIANCE_STORAGE__PATH": str(tmp_path / "appliance.db"),
        "APPLIANCE_MODEM__DRIVER": "serial",
        "APPLIANCE_LINE__DRIVER": "none",
        "APPLIANCE_MODEM__PORT": port,
        "APPLIANCE_MODEM__SEND_INTERVAL": "0",
        "APPLIANCE_CONFIG": str(tmp_path / "none.toml"),
    }
    (tmp_path / "none.toml").write_text("")
    env.update({f"APPLIANCE_MODEM__{k.upper()}": v for k, v in modem.items()})
    return load_config(None, env)


class Harness:
    """A ModemService running on the test's event loop over a real store."""

    def __init__(self, tmp_path: Path, port: str, *, multipart_timeout: timedelta | None = None, **modem: str) -> None:
        self.config = make_config(tmp_path, port, **modem)
        self.store = Store.open(self.config.db_path)
        self.ctx = AppContext(config=self.config, store=self.store)
        self.service = ModemService(self.ctx)
        if multipart_timeout is not None:
            self.service.receiver.multipart_timeout = multipart_timeout
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        loop = asyncio.get_running_loop()
        self.ctx.wakeups.bind(loop)
        self.store.on_commit_signal = self.ctx.wakeups.notify
        self.task = asyncio.create_task(self.service.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.service.stop()
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.store.close()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.store.call(lambda: self.store.conn.execute(sql, params).fetchall())

    def status(self, message_id: int) -> str:
        return str(self.query("SELECT status FROM sms_messages WHERE id = ?", message_id)[0][0])

    def events(self, stream: str) -> list[dict[str, Any]]:
        import json

        return [json.loads(d) for (d,) in self.query("SELECT data FROM events WHERE stream = ? ORDER BY seq", stream)]

    async def until(self, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.task is not None and self.task.done():
                self.task.result()
                raise AssertionError("modem service stopped")
            if predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or predicate}; health {self.service.health.as_dict()}")
