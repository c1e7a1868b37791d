"""The serial transport of the GSM modem and the voice modem: a pyserial port (any URL)
with a reader and a writer thread.

``serial.serial_for_url`` opens device paths and URLs alike (``spy:///dev/ttyUSB2``
prints a hex dump of the traffic, ``socket://host:port``, ``loop://``). Blocking
reads happen on a reader thread, which hands each chunk to the event loop with
``call_soon_threadsafe``; writes are queued to a writer thread. The event loop
never waits on the port, closing included: ``close()`` wakes both threads and
returns at once, a closer thread joins them and releases the port
(``await wait_closed()`` when the caller needs the port free again).

A device path is opened for this process alone, and a port another program holds
is refused with a :class:`DeviceError` naming it (ModemManager probing a modem
garbles AT traffic, and two programs answering the same line is worse):

- ``flock`` (pyserial's ``exclusive=True``): refused if another program holds it;
- ``TIOCEXCL`` on our descriptor: any later ``open()`` by others fails with EBUSY,
  and our own open fails with EBUSY when another program set it;
- on real devices (not ``/dev/pts``), any other process with the device open
  (found in ``/proc/*/fd``, e.g. ModemManager, which takes no lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import queue
import termios
import threading
from collections.abc import Callable
from typing import Any, Protocol

import serial

from appliance.errors import DeviceError, DeviceGone

log = logging.getLogger(__name__)

READ_POLL_S = 1.0  # read timeout; close() wakes a device path at once (cancel_read), a URL port within this
READ_CHUNK = 4096
WRITE_TIMEOUT_S = 5.0  # a port that takes no bytes for this long is dead (flow control stuck)
MAX_WRITE_QUEUE = 64  # writes waiting for the writer thread
CLOSE_JOIN_S = 2.0  # the closer thread waits this long for each I/O thread
REOPEN_WAIT_S = 2.0  # opening a URL this process is still closing waits this long for it


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
        self._closed_done = threading.Event()
        self._closer: threading.Thread | None = None
        self._reader = threading.Thread(target=self._read_loop, name=f"serial-rx {url}", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name=f"serial-tx {url}", daemon=True)
        self._reader.start()
        self._writer.start()

    def write(self, data: bytes) -> None:
        if self._closing.is_set():
            raise DeviceGone(f"serial port {self.url} is closed")
        try:
            self._writes.put_nowait(data)
        except queue.Full:
            raise DeviceError(f"serial port {self.url}: {MAX_WRITE_QUEUE} writes waiting; port stuck") from None

    def close(self) -> None:
        """Stop both threads and release the port; never blocks (idempotent)."""
        if self._closing.is_set():
            return
        self._closing.set()
        with contextlib.suppress(queue.Full):
            self._writes.put_nowait(None)
        for cancel in ("cancel_read", "cancel_write"):  # wake a read/write blocked in select()
            with contextlib.suppress(Exception):
                getattr(self.port, cancel)()
        _pending_close(self.url, self._closed_done)
        self._closer = threading.Thread(target=self._finish_close, name=f"serial-close {self.url}", daemon=True)
        self._closer.start()

    def _finish_close(self) -> None:
        try:
            for thread in (self._reader, self._writer):
                if thread is not threading.current_thread():
                    thread.join(timeout=CLOSE_JOIN_S)
            with contextlib.suppress(Exception):
                self.port.close()
        finally:
            self._closed_done.set()

    async def wait_closed(self, timeout: float = 2 * CLOSE_JOIN_S + 1) -> bool:
        """Wait (off the loop) until the port is released; False if it took longer than ``timeout``."""
        if not self._closing.is_set():
            return False
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._closed_done.wait, timeout)

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
                    self._lose(DeviceGone(f"serial port {self.url} failed: {err}"))
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
                self._lose(DeviceError(f"serial port {self.url}: write timed out (flow control?)"))
                return
            except (serial.SerialException, OSError, TypeError, AttributeError) as err:
                # TypeError/AttributeError: the port was closed under a blocked write (close())
                if not self._closing.is_set():
                    self._lose(DeviceGone(f"serial port {self.url} failed on write: {err}"))
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


_closing_urls: dict[str, threading.Event] = {}
_closing_lock = threading.Lock()


def _pending_close(url: str, done: threading.Event) -> None:
    with _closing_lock:
        _closing_urls[url] = done


def _wait_pending_close(url: str) -> None:
    """A port this process is still releasing (close() returned, the closer runs): wait for it."""
    with _closing_lock:
        done = _closing_urls.get(url)
    if done is not None:
        done.wait(REOPEN_WAIT_S)
        with _closing_lock:
            if _closing_urls.get(url) is done and done.is_set():
                del _closing_urls[url]


def other_holders(path: str) -> list[tuple[int, str]]:
    """(pid, program) of every other process with ``path`` open (Linux /proc; unreadable ones skipped)."""
    try:
        target = os.stat(path).st_rdev
        real = os.path.realpath(path)
    except OSError:
        return []
    me = os.getpid()
    found: list[tuple[int, str]] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            fd_dir = f"/proc/{entry.name}/fd"
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            for fd in fds:
                try:
                    link = os.readlink(f"{fd_dir}/{fd}")
                    if link != real:
                        continue
                    if os.stat(f"{fd_dir}/{fd}").st_rdev != target:
                        continue
                except OSError:
                    continue
                try:
                    with open(f"/proc/{entry.name}/comm") as fh:
                        name = fh.read().strip()
                except OSError:
                    name = "?"
                found.append((int(entry.name), name))
                break
    return found


def _held_error(url: str, detail: str) -> DeviceError:
    return DeviceError(
        f"serial port {url} is held by another program ({detail}); stop it or tell it to leave the port alone "
        '(ModemManager: a udev rule with ENV{ID_MM_DEVICE_IGNORE}="1"; see docs/LINE.md)'
    )


def open_port(url: str, baudrate: int, *, check_holders: bool | None = None) -> Any:
    """Open a serial port or pyserial URL for AT traffic (8N1, no flow control, timeouts set).

    A device path is opened exclusively; a port another program holds raises DeviceError.
    ``check_holders`` (default: real devices, not ptys) also refuses a port any other
    process has open. Runs blocking: call it off the event loop.
    """
    is_path = url.startswith("/")
    if is_path:
        _wait_pending_close(url)
        if check_holders is None:
            check_holders = not os.path.realpath(url).startswith("/dev/pts/")
        if check_holders:
            holders = other_holders(url)
            if holders:
                raise _held_error(url, ", ".join(f"{name} pid {pid}" for pid, name in holders))
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baudrate,
            timeout=READ_POLL_S,
            write_timeout=WRITE_TIMEOUT_S,
            exclusive=True if is_path else None,
        )
    except serial.SerialException as err:
        text = str(err)
        if is_path and ("lock" in text.lower() or f"[Errno {errno.EBUSY}]" in text):
            raise _held_error(url, "it is locked or opened exclusively") from err
        raise DeviceGone(f"cannot open serial port {url}: {err}") from err
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and err.errno == errno.EBUSY:
            raise _held_error(url, "it is opened exclusively") from err
        raise DeviceGone(f"cannot open serial port {url}: {err}") from err
    if is_path:
        fd = getattr(port, "fd", None)
        if isinstance(fd, int):
            with contextlib.suppress(OSError):
                fcntl.ioctl(fd, termios.TIOCEXCL)
    return port


async def connect(url: str, baudrate: int, sink: ProtocolSink) -> SerialTransport:
    """Open ``url`` (in a thread: opening a USB port can block) and start its threads."""
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(None, open_port, url, baudrate)
    return SerialTransport(port, loop, sink, url)
