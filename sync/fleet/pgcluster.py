"""A private PostgreSQL cluster: ``initdb`` in a temporary directory, a free port, stopped on exit.

For the fleet command and the tests, so the central's PostgreSQL path runs on
any Debian box with the ``postgresql`` package, never on a server this machine
happens to run. As root, the cluster runs as the ``postgres`` user (PostgreSQL
refuses to run as root)::

    with PgCluster() as pg:
        open_db(pg.url)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from appliance.errors import StoreError

START_TIMEOUT_S = 60.0
RUN_AS = "postgres"


def find_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl`` of the newest installed server (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    return found[-1] if found else shutil.which(name)


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One private cluster; ``start()`` (or ``with``) creates and starts it, ``stop()`` removes it."""

    def __init__(self, *, durable: bool = True, max_connections: int = 200) -> None:
        self.durable = durable
        self.max_connections = max_connections
        self.port = 0
        self.dir: Path | None = None
        self._user: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PgCluster:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise StoreError("no PostgreSQL server binaries (install the Debian package postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="appliance-pg-"))
        self._user = RUN_AS if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        data, log = self.dir / "data", self.dir / "server.log"
        self._run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        self.port = free_port()
        settings = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.dir}'",
            f"max_connections = {self.max_connections}",
        ]
        if not self.durable:  # tests: correctness, not power-cut safety
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        self._run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", str(int(START_TIMEOUT_S)), "start"])
        return self

    def stop(self) -> None:
        if self.dir is None:
            return
        pg_ctl = find_bin("pg_ctl")
        if pg_ctl and (self.dir / "data" / "postmaster.pid").exists():
            with contextlib.suppress(StoreError):
                self._run([pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def log(self) -> str:
        path = self.dir / "server.log" if self.dir else None
        return path.read_text(errors="replace")[-3000:] if path and path.exists() else ""

    def _run(self, cmd: list[str]) -> None:
        try:
            subprocess.run(
                cmd, check=True, capture_output=True, timeout=START_TIMEOUT_S + 30, user=self._user, cwd=self.dir
            )
        except subprocess.CalledProcessError as err:
            text = (err.stderr or b"").decode(errors="replace")[-1500:]
            raise StoreError(f"{Path(cmd[0]).name} failed ({err.returncode}): {text} {self.log()}") from None
        except subprocess.TimeoutExpired:
            raise StoreError(f"{Path(cmd[0]).name} did not finish: {self.log()}") from None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
