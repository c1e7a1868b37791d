"""The same sync on a second, clustering engine: NATS's MQTT listener (MQTT 3.1.1, no shared subscriptions).

The appliance is unchanged (it falls back to MQTT 3.1.1 by itself); the
central runs MQTT 3.1.1 with ``--partition`` (here one instance, 0/1).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.central.server import CentralServer
from sync.fleet.nats import NATS_SERVER, NatsMqtt
from tests.sync.conftest import USERS, InProcessAppliance, central_events, wait_until

pytestmark = pytest.mark.skipif(not shutil.which(NATS_SERVER), reason="nats-server is not installed")


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsMqtt]:
    workdir = tmp_path / "nats"
    workdir.mkdir()
    server = NatsMqtt(workdir, USERS).start()
    try:
        yield server
    finally:
        server.stop()


def test_events_reach_a_3_1_1_central_through_nats_and_are_acknowledged(
    nats: NatsMqtt,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(nats.mqtt_port, db_url, protocol="3.1.1", partition="0/1")
    app = appliance_factory(nats.mqtt_port, site="site-a")
    wait_until(lambda: app.connected, 30, "site connected to NATS")
    link = app.service.link
    assert link is not None and link.protocol == "3.1.1", "the appliance fell back from MQTT 5 by itself"
    app.append("sms_in", 50)
    wait_until(lambda: app.backlog() == 0, 60, "events acknowledged through NATS", step=0.5)
    assert [e.seq for e in central_events(db_url, "site-a", "sms_in")] == list(range(1, 51))
    assert central.counters.stored == 50
