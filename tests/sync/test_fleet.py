"""A small fleet in the suite: 50 sites on the appliance's own sync code, 2 central workers, PostgreSQL.

Through a worker SIGKILLed mid-stream (restarted 3 s later) and a broker
SIGKILLed and restarted: every event stored exactly once, seqs 1..N without
gaps per site and stream, contacts and notifications applied at every site.
And the ACL at fleet size: no site can publish as another or read another's downlink.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.envelope import encode, make
from sync.fleet.broker import CENTRAL_USER, Mosquitto
from sync.fleet.run import FleetOptions, run_fleet

FLEET_SITES = 50
# paho waits on select(), which cannot watch descriptors above 1024: ~300 clients per process.
ACL_SITES = 250


def test_fifty_sites_two_workers_through_a_worker_kill_and_a_broker_restart(postgres_base: str) -> None:
    result = run_fleet(
        FleetOptions(
            sites=FLEET_SITES,
            workers=2,
            seconds=16,
            rate=4.0,
            database=postgres_base,
            kill_worker_at=4.0,
            restart_broker_at=9.0,
            drain_timeout=120,
        )
    )
    print(json.dumps(result))
    assert result["events_sent"] > FLEET_SITES * 16 * 4 * 0.7
    assert result["events_stored"] == result["events_sent"]
    assert result["lost"] == 0
    assert result["duplicates_stored"] == 0
    assert result["gaps"] == 0
    assert result["backlog_left"] == 0
    assert result["downlink_applied"] == result["downlink_sent"] == 2 * FLEET_SITES
    assert "worker_killed_at_s" in result and "reconnect_all_s" in result


@pytest.fixture
def fleet_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, dict[str, str]]]:
    users = {f"site-{i:05d}": f"pw-{i}" for i in range(1, ACL_SITES + 1)}
    broker = Mosquitto(tmp_path, {CENTRAL_USER: "central-pw", **users}).start()
    try:
        yield broker, users
    finally:
        broker.kill()


class _Client:
    """A site's own MQTT 5 client that records PUBACK reason codes and what it receives."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.acks: dict[int, Any] = {}
        self.received: list[str] = []
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: None if rc.is_failure else self.connected.set()
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.__setitem__(mid, rc)
        self.client.on_subscribe = lambda _c, _u, _m, _codes, _p: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.append(m.topic)
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert self.connected.wait(15), f"{user} did not connect"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_at_fleet_size_no_site_can_publish_as_another_or_read_its_downlink(
    fleet_broker: tuple[Mosquitto, dict[str, str]],
) -> None:
    broker, users = fleet_broker
    sites = sorted(users)
    central = _Client(broker.port, CENTRAL_USER, "central-pw")
    central.client.subscribe("lab/v1/+/up/#", qos=1)
    assert central.subscribed.wait(10)
    clients = []
    try:
        for i, site in enumerate(sites):  # each site tries to be the next one
            victim = sites[(i + 1) % len(sites)]
            c = _Client(broker.port, site, users[site])
            clients.append(c)
            forged = make("sms_in", victim, 1, {"text": f"forged by {site}"})
            c.client.publish(f"lab/v1/{victim}/up/sms_in", encode(forged), qos=1).wait_for_publish(10)
            c.client.subscribe(f"lab/v1/{victim}/down/#", qos=1)  # Mosquitto checks reads on delivery
            assert c.subscribed.wait(10)
        for c in clients:
            (reason,) = c.acks.values()
            assert reason.is_failure, "a publish on another site's topic was accepted"
        infos = [
            central.client.publish(f"lab/v1/{site}/down/contacts", encode(make("contacts", site, 1, {})), qos=1)
            for site in sites
        ]
        for info in infos:
            info.wait_for_publish(10)
        # Each site's own topic works (the denial is not a blanket one) ...
        own = clients[0]
        info = own.client.publish(f"lab/v1/{sites[0]}/up/sms_in", encode(make("sms_in", sites[0], 1, {})), qos=1)
        info.wait_for_publish(10)
        assert not own.acks[info.mid].is_failure
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and f"lab/v1/{sites[0]}/up/sms_in" not in central.received:
            time.sleep(0.1)
        # ... and nothing forged reached the central, no downlink reached another site.
        assert central.received == [f"lab/v1/{sites[0]}/up/sms_in"]
        stolen = [t for c in clients for t in c.received]
        assert stolen == [], f"{len(stolen)} downlink messages reached another site, e.g. {stolen[:3]}"
    finally:
        for c in [central, *clients]:
            c.close()
