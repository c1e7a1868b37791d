"""A task cancelled in the same loop tick as its wake-up ends: Python 3.11's ``wait_for``
returned the wake-up and dropped the cancel, so a waiting loop outlived the daemon's stop
(a test daemon ran on for 30 min after SIGTERM, its loop idle)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from appliance.aio import cancel_and_wait
from appliance.bus import Bus
from appliance.daemon.wakeups import Wakeups

ROOT = Path(__file__).resolve().parents[2]


async def _cancelled_as_woken(wait_once: Callable[[], Awaitable[object]], wake: Callable[[], None]) -> bool:
    """Run ``while True: await wait_once()``, then wake it and cancel it in one tick; True when it ended."""

    async def waiting_loop() -> None:
        while True:
            await wait_once()

    task = asyncio.create_task(waiting_loop())
    await asyncio.sleep(0.01)  # it waits now
    wake()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        task.cancel()  # a second cancel ends it, so the test leaves nothing behind
        await asyncio.wait({task}, timeout=1.0)
    return bool(done) and task.cancelled()


def test_a_wakeups_wait_woken_and_cancelled_at_once_ends() -> None:
    async def main() -> None:
        wakeups = Wakeups()
        wakeups.bind(asyncio.get_running_loop())
        assert await _cancelled_as_woken(lambda: wakeups.wait("sms", 5.0), lambda: wakeups.notify("sms"))

    asyncio.run(main())


def test_a_bus_subscriber_woken_and_cancelled_at_once_ends() -> None:
    async def main() -> None:
        bus = Bus()
        bus.bind(asyncio.get_running_loop())
        async with bus.subscribe({"t"}) as sub:
            assert await _cancelled_as_woken(lambda: sub.get(timeout=5.0), lambda: bus.publish("t", {}))

    asyncio.run(main())


def test_cancel_and_wait_keeps_the_callers_own_cancel_and_logs_a_childs_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # parks its work first
            raise

    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("port gone") from None

    async def main() -> None:
        child = asyncio.create_task(slow_to_end())
        failing = asyncio.create_task(fails_when_cancelled(), name="failing-child")
        await asyncio.sleep(0)

        async def parent() -> None:
            while True:  # a loop that cleans up a child each round must still end when cancelled
                await cancel_and_wait(child, failing)

        task = asyncio.create_task(parent())
        await asyncio.sleep(0.05)  # the parent waits for the children to end
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        assert done and task.cancelled()
        await asyncio.wait({child, failing}, timeout=1.0)
        assert child.cancelled()
        await cancel_and_wait(failing)
        assert "failing-child" in caplog.text and "port gone" in caplog.text

    with caplog.at_level(logging.WARNING, logger="appliance.aio"):
        asyncio.run(main())


def test_cancel_and_wait_is_bounded() -> None:
    async def slow_to_park() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.5)  # longer than the caller will wait

    async def main() -> None:
        child = asyncio.create_task(slow_to_park())
        await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        await cancel_and_wait(child, timeout=0.1)
        assert not child.done() and asyncio.get_running_loop().time() - started < 0.4
        await asyncio.wait({child}, timeout=2.0)
        assert child.done()

    asyncio.run(main())


def test_product_code_does_not_use_wait_for() -> None:
    """``asyncio.timeout`` or :func:`cancel_and_wait` instead (see appliance/aio.py)."""
    offenders = []
    for top in ("appliance", "sync", "firmware_tools"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\bwait_for\(|suppress\([^)]*CancelledError", line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
