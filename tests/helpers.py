"""Helpers shared by the test folders: free ports, a daemon subprocess, a notify socket."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def appliance_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "appliance", *args]


def base_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """An environment for a daemon or CLI run isolated in ``data_dir`` (no system config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_") and k != "NOTIFY_SOCKET"}
    env.update(
        APPLIANCE_DATA_DIR=str(data_dir),
        APPLIANCE_CONFIG=str(data_dir / "appliance.toml"),
        # a config file is used, so the drivers must be named (INTERFACES.md §1)
        APPLIANCE_MODEM__DRIVER="sim",
        APPLIANCE_LINE__DRIVER="sim",
        PYTHONUNBUFFERED="1",
    )
    cfg = data_dir / "appliance.toml"
    if not cfg.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        cfg.write_text("# test config: everything from defaults and environment\n")
    env.update(overrides)
    return env


def run_cli(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        appliance_cmd(*args), env=base_env(data_dir, **env), input=stdin, capture_output=True,
        text=True, timeout=60, cwd=data_dir,
    )


class NotifyListener:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []

    def poll(self, duration: float) -> None:
        end = time.monotonic() + duration
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, field: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(field in m for _, m in self.messages):
                return True
            self.poll(0.2)
        return any(field in m for _, m in self.messages)

    def count(self, field: str) -> int:
        return sum(1 for _, m in self.messages if field in m.split("\n"))

    def close(self) -> None:
        self.sock.close()


class Daemon:
    """``appliance run`` as a subprocess in its own data dir, on a free web port."""

    def __init__(self, data_dir: Path, notify: NotifyListener | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        overrides = {
            "APPLIANCE_WEB__LISTEN": f"127.0.0.1:{self.port}",
            "APPLIANCE_MQTT__ENABLED": "false",
            **env,
        }
        if notify is not None:
            overrides["NOTIFY_SOCKET"] = notify.path
        self.env = base_env(data_dir, **overrides)
        self.log_path = data_dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            appliance_cmd("run"), env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir
        )
        log.close()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < end:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                status, body = self.get("/healthz", timeout=2)
                last = (status, body)
                if status == 200:
                    return dict(json.loads(body))
            time.sleep(0.2)
        raise AssertionError(f"daemon not healthy in {timeout} s (last {last}):\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and the exit code; a daemon that does not stop in ``timeout`` is killed (never left
        behind) and the test fails saying so."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"daemon did not stop within {timeout} s of SIGTERM:\n{self.log()[-3000:]}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def running_daemon(data_dir: Path, **env: str) -> Iterator[Daemon]:
    daemon = Daemon(data_dir, **env).start()
    try:
        daemon.wait_healthy()
        yield daemon
    finally:
        daemon.kill()
