"""The serial transport: a pyserial port (any URL) with a reader and a writer thread.

``serial.serial_for_url`` opens device paths and URLs alike (``spy:///dev/ttyUSB2``
prints a hex dump of the traffic, ``socket://host:port``, ``loop://``). Blocking
reads happen on a reader thread, which hands each chunk to the event loop with
``call_soon_threadsafe``; writes are queued to a writer thread. The event loop
never waits on the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

import serial

from appliance.errors import DeviceError, DeviceGone

log = logging.getLogger(__name__)

READ_POLL_S = 0.1  # read timeout: how quickly the reader notices close()
READ_CHUNK = 4096
WRITE_TIMEOUT_S = 5.0  # a port that takes no bytes for this long is dead (flow control stuck)
MAX_WRITE_QUEUE = 64  # writes waiting for the writer thread


class ProtocolSink(Protocol):
    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self, exc: BaseException | None) -> None: ...


class SerialTransport:
    """A running port: bytes in go to ``sink.data_received`` on the loop; ``write`` queues."""

    def __init__(self, port: Any, loop: asyncio.AbstractEventLoop, sink: ProtocolSink, url: str) -> None:
        self.port = port
        self.url = url
        self._loop = loop
        self._sink = sink
        self._closing = threading.Event()
        self._lost = False
        self._writes: queue.Queue[bytes | None] = queue.Queue(MAX_WRITE_QUEUE)
        self._reader = threading.Thread(target=self._read_loop, name=f"modem-rx {url}", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name=f"modem-tx {url}", daemon=True)
        self._reader.start()
        self._writer.start()

    def write(self, data: bytes) -> None:
        if self._closing.is_set():
            raise DeviceGone(f"modem port {self.url} is closed")
        try:
            self._writes.put_nowait(data)
        except queue.Full:
            raise DeviceError(f"modem port {self.url}: {MAX_WRITE_QUEUE} writes waiting; port stuck") from None

    def close(self) -> None:
        """Stop both threads and close the port (idempotent, quick)."""
        if self._closing.is_set():
            return
        self._closing.set()
        with contextlib.suppress(queue.Full):
            self._writes.put_nowait(None)
        for thread in (self._reader, self._writer):
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self.port.close()

    @property
    def closed(self) -> bool:
        return self._closing.is_set() or self._lost

    def _read_loop(self) -> None:
        while not self._closing.is_set():
            try:
                # one byte with the poll timeout (wakes as soon as anything arrives), then the rest
                data = self.port.read(1)
                if data:
                    waiting = self.port.in_waiting
                    if waiting:
                        data += self.port.read(min(waiting, READ_CHUNK))
            except (serial.SerialException, OSError, TypeError, AttributeError) as err:
                # TypeError/AttributeError: pyserial's posix port after a concurrent close
                if not self._closing.is_set():
                    self._lose(DeviceGone(f"modem port {self.url} failed: {err}"))
                return
            if data:
                self._call(self._sink.data_received, bytes(data))

    def _write_loop(self) -> None:
        while True:
            data = self._writes.get()
            if data is None or self._closing.is_set():
                return
            try:
                self.port.write(data)
                self.port.flush()
            except serial.SerialTimeoutException:
                self._lose(DeviceError(f"modem port {self.url}: write timed out (flow control?)"))
                return
            except (serial.SerialException, OSError) as err:
                self._lose(DeviceGone(f"modem port {self.url} failed on write: {err}"))
                return

    def _lose(self, exc: BaseException) -> None:
        if self._lost:
            return
        self._lost = True
        log.warning("%s", exc)
        self._call(self._sink.connection_lost, exc)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            self._loop.call_soon_threadsafe(fn, *args)


def open_port(url: str, baudrate: int) -> Any:
    """Open a serial port or pyserial URL for AT traffic (8N1, no flow control, timeouts set)."""
    exclusive = True if url.startswith("/") else None  # keep ModemManager & co. off a device path
    try:
        try:
            return serial.serial_for_url(
                url, baudrate=baudrate, timeout=READ_POLL_S, write_timeout=WRITE_TIMEOUT_S, exclusive=exclusive
            )
        except serial.SerialException as err:
            if not exclusive or "lock" not in str(err).lower():
                raise
            log.warning("modem port %s is locked by another program; opening it shared", url)
            return serial.serial_for_url(url, baudrate=baudrate, timeout=READ_POLL_S, write_timeout=WRITE_TIMEOUT_S)
    except (serial.SerialException, OSError, ValueError) as err:
        raise DeviceGone(f"cannot open modem port {url}: {err}") from err


async def connect(url: str, baudrate: int, sink: ProtocolSink) -> SerialTransport:
    """Open ``url`` (in a thread: opening a USB port can block) and start its threads."""
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(None, open_port, url, baudrate)
    return SerialTransport(port, loop, sink, url)
