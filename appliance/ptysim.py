"""Pieces the device simulators share (the GSM modem, the V.253 voice modem): a pty whose
slave path the appliance opens like a USB serial port, kept behind a stable symlink
across unplug/replug, and a control socket taking one JSON request a line."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_CONTROL_LINE = 1 << 20


def open_pty(link: Path | None = None) -> tuple[int, int, str]:
    """A raw pty: (master, slave, slave path); ``link`` is (re)pointed at the slave atomically."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or CR/LF translation by the line discipline
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    if link:
        tmp = link.with_name(link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(path)
        tmp.replace(link)
    return master, slave, path


def close_fds(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class ControlServer:
    """A Unix socket in a thread: each line is a JSON request, answered by ``handler``."""

    def __init__(self, path: Path, handler: Callable[[bytes], dict[str, Any]], name: str = "sim-control") -> None:
        self.path = path
        self.handler = handler
        self.name = name
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        sock.listen(4)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=3)
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    for raw in conn.makefile("rb"):
                        if len(raw) > MAX_CONTROL_LINE:
                            break
                        conn.sendall(json.dumps(self.handler(raw)).encode() + b"\n")


def control_request(path: str | Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a running simulator's control socket and return its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    return answer if isinstance(answer, dict) else {"ok": False, "error": "bad answer"}
