"""Wake-ups across processes: a datagram on ``<data dir>/wakeup.sock`` becomes an in-process wake-up.

``appliance sms send`` (another process) commits the message, then calls
``wake_daemon(data_dir, "sms_outbox")``: one datagram, never blocking, silently
dropped when no daemon listens (the daemon's poll still finds the work). The daemon
binds the socket (``WakeupSocket``) and turns each known name into
``ctx.wakeups.notify(name)``. Bounded: datagrams are at most 64 bytes, unknown
names are ignored, and a burst is read at most ``MAX_PER_READ`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SOCKET_NAME = "wakeup.sock"
KNOWN = frozenset({"sms_outbox", "sms_in", "events", "calls"})
MAX_DATAGRAM = 64
MAX_PER_READ = 64


def wake_daemon(data_dir: Path, name: str) -> bool:
    """Tell a running daemon to look at ``name`` now; False when nobody listens (harmless)."""
    path = data_dir / SOCKET_NAME
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(name.encode("ascii")[:MAX_DATAGRAM], str(path))
        except OSError:  # no listener (stale file), queue full: the poll finds the work anyway
            return False
    return True


class WakeupSocket:
    """The daemon's end: bound in ``start``, read by the event loop, removed in ``close``."""

    def __init__(self, data_dir: Path, notify: Callable[[str], None]) -> None:
        self.path = data_dir / SOCKET_NAME
        self.notify = notify
        self.sock: socket.socket | None = None
        self.received = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a daemon that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o660)
        except OSError as err:
            sock.close()
            log.warning("wake-up socket %s not available (%s): other processes' work waits for the poll",
                        self.path, err)
            return
        sock.setblocking(False)
        self.sock = sock
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(MAX_PER_READ):
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                log.debug("wake-up socket: %s", err)
                return
            name = data.decode("ascii", "replace").strip()
            if name in KNOWN:
                self.received += 1
                self.notify(name)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.sock is None:
            return
        with contextlib.suppress(Exception):
            loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.sock = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
