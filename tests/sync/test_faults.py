"""Faults with counts: broker killed, network cut, central offline, appliance offline.

In each: every event arrives, duplicates are removed by id, order is kept per stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sync.central.server import CentralServer, push
from tests.sync.conftest import SITE, InProcessAppliance, central_events, central_settings, wait_until
from tests.sync.mosquitto import Mosquitto
from tests.sync.proxy import CuttableProxy


def assert_complete(db_url: str, stream: str, count: int) -> None:
    events = central_events(db_url, SITE, stream)
    assert [e.seq for e in events] == list(range(1, count + 1)), f"{stream}: seqs missing or extra"
    assert [e.data["i"] for e in events] == list(range(count)), f"{stream}: order broken"
    assert len({e.id for e in events}) == count


def test_broker_killed_and_restarted_mid_stream(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(broker.port, db_url)
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    total, chunk = 3000, 50

    def produce() -> None:  # events keep coming before, during and after the broker's death
        for start in range(0, total, chunk):
            app.append("survey_reply", chunk, start=start)
            time.sleep(0.02)

    writer = threading.Thread(target=produce, name="producer")
    writer.start()
    try:
        wait_until(lambda: central.counters.stored > 300, 30, "events flowing")
        broker.kill()  # SIGKILL: whatever the broker held in memory is gone
        stored_at_kill = central.counters.stored
        time.sleep(1.0)
        broker.start()
    finally:
        writer.join(60)
    wait_until(lambda: app.backlog() == 0, 90, "backlog drained after the broker came back")
    assert_complete(db_url, "survey_reply", total)
    assert stored_at_kill < total, "the kill must land mid-stream"
    print(
        f"broker kill: {total} events, {stored_at_kill} stored at the kill, "
        f"stored {central.counters.stored}, duplicates {central.counters.duplicates}"
    )


def test_network_cut_and_restored_by_proxy(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(broker.port, db_url)
    proxy = CuttableProxy(broker.port).start()
    try:
        app = appliance_factory(proxy.port)
        wait_until(lambda: app.connected, 20, "appliance connected through the proxy")
        app.append("call", 1000)
        wait_until(lambda: central.counters.stored > 50, 30, "events flowing")
        for round_ in range(3):
            proxy.cut()
            app.append("call", 200, start=1000 + 200 * round_)
            time.sleep(1.5)
            proxy.restore()
            wait_until(lambda: app.connected, 30, "reconnected after the cut")
        wait_until(lambda: app.backlog() == 0, 90, "backlog drained after the cuts")
        assert_complete(db_url, "call", 1600)
        assert proxy.connections >= 4
        print(f"network cuts: 1600 events, stored {central.counters.stored}, dup {central.counters.duplicates}")
    finally:
        proxy.close()


def test_central_offline_while_events_queue_and_broker_drops_them(
    broker_factory: Callable[..., Mosquitto],
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    broker = broker_factory(max_queued=50)  # the broker keeps only 50 for an offline central
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(broker.port, db_url)
    central.stop()  # the central's persistent session stays at the broker, with a 50-message queue
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    app.append("sms_in", 3000)
    wait_until(lambda: app.service.relay is not None and app.service.relay.published_total >= 3000, 60, "all published")
    assert app.backlog() == 3000, "nothing may leave the outbox without the central's ack"
    central2 = central_factory(broker.port, db_url)
    wait_until(lambda: app.backlog() == 0, 120, "backlog drained once the central is back")
    assert_complete(db_url, "sms_in", 3000)
    dropped = "dropped" if "Outgoing messages are being dropped" in broker.log() else "not logged"
    print(f"central offline: 3000 events, broker queue 50 ({dropped}), stored {central2.counters.stored}")


def test_appliance_offline_while_central_queues_downlink(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    data_dir = tmp_path / "appliance-offline"
    app = appliance_factory(broker.port, data_dir=data_dir)
    wait_until(lambda: app.connected, 20, "appliance connected once (session created)")
    app.stop()
    contacts = [
        {
            "contact_id": f"c-{i}",
            "version": 1,
            "contact": {
                "name": f"Person {i}",
                "phones": [f"+35840{i:07d}"],
                "language": "sv",
                "consents": {"sms": True, "call": False},
            },
        }
        for i in range(200)
    ]
    settings = central_settings(broker.port, db_url)
    push(settings, SITE, "contacts", contacts)
    notes = [
        {"notification_id": f"n-{i}", "contact_id": f"c-{i}", "channel": "sms", "template": "followup_reminder"}
        for i in range(100)
    ]
    push(settings, SITE, "notifications", notes)
    app2 = appliance_factory(broker.port, data_dir=data_dir)
    wait_until(lambda: app2.query("SELECT COUNT(*) FROM sms_messages")[0][0] == 100, 60, "queued downlink applied")
    assert app2.query("SELECT COUNT(*) FROM contacts")[0][0] == 200
    wait_until(lambda: len(central_events(db_url, SITE, "sms_status")) == 100, 60, "sms_status reported")
    statuses = central_events(db_url, SITE, "sms_status")
    assert sorted(e.data["notification_id"] for e in statuses) == sorted(f"n-{i}" for i in range(100))
