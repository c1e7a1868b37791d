"""A private NATS server with its MQTT listener (a clustering engine the sync runs on, MQTT 3.1.1).

``NatsMqtt(workdir, users).start()``: ``nats-server`` on free ports (client,
MQTT), JetStream in ``workdir`` (NATS keeps MQTT sessions and retained
messages there), one user per site limited to its own subjects (MQTT
``lab/v1/<site>/up/x`` is the NATS subject ``lab.v1.<site>.up.x``), the central
user allowed every site's. What NATS lacks and how the central copes is in
``sync/DEPLOYMENT.md``: no MQTT 5 (the appliance falls back to 3.1.1 by
itself), no ``$share`` (central instances partition the sites, ``--partition``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

from sync.fleet.broker import CENTRAL_USER, PREFIX, free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
START_TIMEOUT_S = 20.0


class NatsMqtt:
    """One private nats-server with JetStream and MQTT; ``stop()`` ends it."""

    def __init__(self, workdir: Path, users: dict[str, str]) -> None:
        self.workdir = workdir
        self.users = users
        self.port = free_port()  # NATS clients
        self.mqtt_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        subject = PREFIX.replace("/", ".")
        users = []
        for user, password in self.users.items():
            if user == CENTRAL_USER:
                perms = {"publish": [f"{subject}.*.down.>", "$MQTT.>"], "subscribe": [f"{subject}.>", "$MQTT.>"]}
            else:
                perms = {
                    "publish": [f"{subject}.{user}.up.>", f"{subject}.{user}.status", "$MQTT.>"],
                    # "down/#" is two NATS subscriptions: "down" itself and "down.>"
                    "subscribe": [
                        f"{subject}.{user}.down",
                        f"{subject}.{user}.down.>",
                        f"{subject}.{user}.status",
                        "$MQTT.>",
                    ],
                }
            users.append({"user": user, "password": password, "permissions": perms})
        config = {
            "listen": f"127.0.0.1:{self.port}",
            "server_name": f"appliance-nats-{self.port}",
            "jetstream": {"store_dir": str(self.workdir / "js")},
            "authorization": {"users": users},
            "mqtt": {"listen": f"127.0.0.1:{self.mqtt_port}"},
        }
        (self.workdir / "nats.conf").write_text(json.dumps(config, indent=1))

    def start(self) -> NatsMqtt:
        log = (self.workdir / "nats.log").open("ab")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.workdir / "nats.conf")], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}: {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.mqtt_port), 0.5):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"nats-server did not listen on {self.mqtt_port}: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        path = self.workdir / "nats.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""
