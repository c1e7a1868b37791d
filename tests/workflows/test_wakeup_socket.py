"""``appliance sms send`` wakes the daemon across processes: a datagram becomes the in-process wake-up."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path

from appliance.daemon.wakesock import MAX_PER_READ, SOCKET_NAME, WakeupSocket, wake_daemon
from tests.workflows.conftest import run_async


def short_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="wk", dir="/tmp"))  # AF_UNIX paths are limited to 107 bytes


def test_a_datagram_wakes_the_named_part_and_unknown_names_are_ignored() -> None:
    directory = short_dir()
    heard: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = WakeupSocket(directory, heard.append)
        sock.start(loop)
        try:
            assert wake_daemon(directory, "sms_outbox")
            assert wake_daemon(directory, "rm -rf /")  # delivered, ignored
            for _ in range(50):
                await asyncio.sleep(0.01)
                if heard:
                    break
            await asyncio.sleep(0.05)
        finally:
            sock.close(loop)

    run_async(main)
    assert heard == ["sms_outbox"]
    assert not (directory / SOCKET_NAME).exists()


def test_nobody_listening_is_harmless(tmp_path: Path) -> None:
    assert wake_daemon(tmp_path, "sms_outbox") is False  # no socket file
    directory = short_dir()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(directory / SOCKET_NAME))
    stale.close()  # the file stays, nobody reads: a daemon killed with SIGKILL
    assert wake_daemon(directory, "sms_outbox") is False


def test_a_burst_never_blocks_the_sender_and_what_arrives_is_heard() -> None:
    directory = short_dir()
    heard: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = WakeupSocket(directory, heard.append)
        sock.start(loop)
        try:
            # the kernel's datagram queue is short (net.unix.max_dgram_qlen, 10 by default): the rest
            # is refused at once, never waited for; the daemon's poll finds the work anyway
            sent = sum(wake_daemon(directory, "events") for _ in range(MAX_PER_READ * 2))
            assert 1 <= sent <= MAX_PER_READ * 2
            for _ in range(100):
                await asyncio.sleep(0.01)
            assert len(heard) == sent
        finally:
            sock.close(loop)

    run_async(main)
