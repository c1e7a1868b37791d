"""The serial transport shared by the GSM and voice modems: closing never stalls the event
loop, and a port another program holds is refused with a clear DeviceError."""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import subprocess
import sys
import time
import tty
from collections.abc import Iterator

import pytest

from appliance.errors import DeviceError
from appliance.serialport import connect, open_port, other_holders

TIOCGEXCL = 0x80045440  # Linux: is TIOCEXCL set on this tty?


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: list[BaseException | None] = []

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


@pytest.fixture
def pty_path() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)  # only the appliance opens the slave
    os.set_blocking(master, False)
    try:
        yield master, path
    finally:
        os.close(master)


async def _max_stall_during(action: asyncio.Future[None] | None, fn: object, seconds: float = 0.3) -> float:
    """Largest gap between ticks of a 2 ms ticker while ``fn()`` runs on the loop."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    fn()  # type: ignore[operator]
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return max(gaps)


def test_close_with_a_writer_stuck_on_flow_control_does_not_stall_the_loop(pty_path: tuple[int, str]) -> None:
    _master, path = pty_path

    async def main() -> None:
        sink = _Sink()
        transport = await connect(path, 115200, sink)
        # nobody reads the master: the pty buffer fills and the writer thread blocks in write()
        for _ in range(60):
            transport.write(b"x" * 4096)
        await asyncio.sleep(0.3)
        assert transport._writer.is_alive()
        stall = await _max_stall_during(None, transport.close)
        assert stall < 0.5, f"the loop stalled {stall * 1000:.0f} ms in close()"  # the old close(): 2 s
        assert await transport.wait_closed()
        assert not transport._reader.is_alive() and not transport._writer.is_alive()

    asyncio.run(main())


def test_close_while_the_reader_waits_does_not_stall_and_the_port_reopens_at_once(pty_path: tuple[int, str]) -> None:
    master, path = pty_path

    async def main() -> None:
        sink = _Sink()
        transport = await connect(path, 115200, sink)
        os.write(master, b"hello")
        await asyncio.sleep(0.05)
        assert bytes(sink.data) == b"hello"
        stall = await _max_stall_during(None, transport.close, 0.05)
        assert stall < 0.5
        t0 = time.monotonic()
        again = await connect(path, 115200, _Sink())  # waits for our own closer, not refused
        assert time.monotonic() - t0 < 1.0
        again.close()
        assert await again.wait_closed()

    asyncio.run(main())


def test_a_second_opener_is_refused(pty_path: tuple[int, str]) -> None:
    _, path = pty_path
    first = open_port(path, 115200)
    try:
        with pytest.raises(DeviceError, match="held by another program"):
            open_port(path, 115200)
        got = fcntl.ioctl(first.fd, TIOCGEXCL, struct.pack("i", 0))
        assert struct.unpack("i", got)[0] == 1  # later opens by others get EBUSY
    finally:
        first.close()
    open_port(path, 115200).close()  # free again


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
if sys.argv[2] == "flock":
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(pty_path: tuple[int, str], request: pytest.FixtureRequest) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    _, path = pty_path
    proc = subprocess.Popen([sys.executable, "-c", HOLD, path, request.param], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield path, proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("holder", ["flock"], indirect=True)
def test_a_port_another_process_locked_is_refused(holder: tuple[str, subprocess.Popen[str]]) -> None:
    path, _ = holder
    with pytest.raises(DeviceError, match="held by another program"):
        open_port(path, 115200)


@pytest.mark.parametrize("holder", ["plain"], indirect=True)
def test_a_process_holding_the_port_without_a_lock_is_found(holder: tuple[str, subprocess.Popen[str]]) -> None:
    path, proc = holder
    assert (proc.pid, "python") in [(pid, name[:6]) for pid, name in other_holders(path)]
    with pytest.raises(DeviceError, match=rf"python\S* pid {proc.pid}"):
        open_port(path, 115200, check_holders=True)


def test_a_missing_port_is_gone_not_held() -> None:
    from appliance.errors import DeviceGone

    with pytest.raises(DeviceGone):
        open_port("/dev/ttyACM_not_there_0", 115200)
