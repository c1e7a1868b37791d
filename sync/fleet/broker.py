"""A private Mosquitto: own port, config, one user per site, the ``%u`` ACL, optional TLS, persistence.

Never a broker this machine happens to run. ``Mosquitto(workdir, users).start()``
writes the config into ``workdir`` and starts ``mosquitto`` on a free port (and
a TLS port requiring a client certificate when ``certs`` are given);
``kill()`` (SIGKILL), ``stop()`` (SIGTERM) and ``start()`` again keep the same
ports and persistence file. Used by the fleet simulator and the sync tests.
Passwords for thousands of users are hashed in one ``mosquitto_passwd -U`` run.
"""

from __future__ import annotations

import contextlib
import getpass
import resource
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
START_TIMEOUT_S = 15.0
PREFIX = "lab/v1"
CENTRAL_USER = "central"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path  # CN = site-a, signed by the test CA
    client_key: Path
    rogue_cert: Path  # signed by another CA: must be refused
    rogue_key: Path


def _raise_fd_limit() -> None:
    """One descriptor per connection: lift the soft limit (often 1,024) to the hard one, for the children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Mosquitto:
    """One private broker process; restartable with the same ports and persistence."""

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str],
        *,
        max_queued: int = 100_000,
        certs: Certs | None = None,
        max_inflight: int = 1000,
    ) -> None:
        self.workdir = workdir
        self.users = users
        self.max_queued = max_queued
        self.max_inflight = max_inflight
        self.certs = certs
        self.port = free_port()
        self.tls_port = free_port() if certs else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"
        self._write_config()

    def _write_config(self) -> None:
        w = self.workdir
        (w / "data").mkdir(parents=True, exist_ok=True)
        passwd = w / "passwd"
        passwd.write_text("".join(f"{user}:{password}\n" for user, password in self.users.items()))
        passwd.chmod(0o600)
        # One run hashes every line in place (thousands of sites: one process, not thousands).
        subprocess.run([MOSQUITTO_PASSWD, "-U", str(passwd)], check=True, capture_output=True, timeout=600)
        acl = w / "acl"
        acl.write_text(
            "# the central reads every site's uplink and status, writes every site's downlink\n"
            f"user {CENTRAL_USER}\n"
            f"topic read {PREFIX}/+/up/#\n"
            f"topic read {PREFIX}/+/status\n"
            f"topic write {PREFIX}/+/down/#\n"
            "\n# every site (username = site id) only its own topics\n"
            f"pattern write {PREFIX}/%u/up/#\n"
            f"pattern readwrite {PREFIX}/%u/status\n"
            f"pattern read {PREFIX}/%u/down/#\n"
        )
        acl.chmod(0o600)
        lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {acl}",
            "persistence true",
            f"persistence_location {w / 'data'}/",
            "autosave_interval 1",
            "max_connections -1",  # no cap of its own: the descriptor limit (raised at start) is the one
            f"max_queued_messages {self.max_queued}",
            f"max_inflight_messages {self.max_inflight}",
            f"user {getpass.getuser()}",  # started as root, mosquitto would drop to "mosquitto"
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            f"listener {self.port} 127.0.0.1",
        ]
        if self.certs and self.tls_port:
            c = self.certs
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {c.ca}",
                f"certfile {c.server_cert}",
                f"keyfile {c.server_key}",
                "require_certificate true",
                "tls_version tlsv1.2",
            ]
        (w / "mosquitto.conf").write_text("\n".join(lines) + "\n")

    def start(self) -> Mosquitto:
        _raise_fd_limit()  # inherited by the broker
        log = (self.workdir / "stdout.log").open("ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.workdir / "mosquitto.conf")],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self, *, kill: bool = True) -> None:
        self.kill() if kill else self.stop()
        self.start()

    def log(self) -> str:
        parts = []
        for name in ("mosquitto.log", "stdout.log"):
            p = self.workdir / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-4000:])
        return "\n".join(parts)
