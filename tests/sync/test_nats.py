"""The same sync on a second, clustering engine: NATS's MQTT listener (MQTT 3.1.1, no shared subscriptions).

The appliance is unchanged (it falls back to MQTT 3.1.1 by itself); the
central runs MQTT 3.1.1 with ``--partition`` (here one instance, 0/1).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.central.main import _settings, build_parser
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


# CRC-32 % 3 of these ids is 2, 0 and 1: every partition owns one site.
PARTITION_SITES = ("site-a", "site-b", "site-j")


@pytest.fixture
def nats3(tmp_path: Path) -> Iterator[NatsMqtt]:
    workdir = tmp_path / "nats3"
    workdir.mkdir()
    server = NatsMqtt(workdir, {**USERS, "site-j": "secret-j"}).start()
    try:
        yield server
    finally:
        server.stop()


def test_three_partitioned_centrals_on_nats_store_each_site_once(
    nats3: NatsMqtt,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    """Three ``--partition I/3`` instances, each with its own client id (one shared id hung here:
    NATS, like any MQTT broker, hands the session to the newest connection, so the three took it
    from each other in turn and the third site's events were never acknowledged)."""
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    centrals = []
    for i in range(3):
        argv = ["serve", "--broker", f"127.0.0.1:{nats3.mqtt_port}", "--protocol", "3.1.1", "--partition", f"{i}/3"]
        settings = _settings(build_parser().parse_args(argv))
        assert settings.client_id == f"central-{i}", "partitioned instances need distinct client ids"
        centrals.append(
            central_factory(nats3.mqtt_port, db_url, protocol="3.1.1", partition=f"{i}/3", client_id=settings.client_id)
        )
    apps = [
        appliance_factory(nats3.mqtt_port, site=site, env={"APPLIANCE_MQTT__PASSWORD": nats3.users[site]})
        for site in PARTITION_SITES
    ]
    for site, app in zip(PARTITION_SITES, apps, strict=True):
        wait_until(lambda app=app: app.connected, 30, f"{site} connected to NATS")
        app.append("sms_in", 40)
    for site, app in zip(PARTITION_SITES, apps, strict=True):
        wait_until(lambda app=app: app.backlog() == 0, 30, f"{site}'s events acknowledged through NATS", step=0.2)
        assert [e.seq for e in central_events(db_url, site, "sms_in")] == list(range(1, 41))
    # Each instance stored its own partition's site and nothing else; no instance was kicked out.
    assert [c.counters.stored for c in centrals] == [40, 40, 40]
    assert sum(c.counters.duplicates for c in centrals) == 0
    assert all(c.connected.is_set() for c in centrals)
