"""The link's edges: MQTT 3.1.1, the automatic fallback, the in-flight window, the bounds, disk full."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.sync import processed
from appliance.sync.downlink import Incoming
from appliance.sync.service import DOWNLINK_QUEUE_MAX
from sync.central.server import CentralServer
from tests.sync.conftest import SITE, InProcessAppliance, central_events, wait_until
from tests.sync.mosquitto import Mosquitto
from tests.sync.proxy import CuttableProxy


def test_mqtt_311_session_round_trip(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    app = appliance_factory(broker.port, env={"APPLIANCE_MQTT__PROTOCOL": "3.1.1"})
    app.append("complaint", 200)
    wait_until(lambda: app.backlog() == 0, 60, "acknowledged over MQTT 3.1.1")
    assert [e.seq for e in central_events(db_url, SITE, "complaint")] == list(range(1, 201))
    assert app.service.link is not None and app.service.link.protocol == "3.1.1"


def test_auto_falls_back_to_311_when_the_broker_refuses_mqtt5(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    proxy = CuttableProxy(broker.port)
    proxy.refuse_mqtt5 = True
    proxy.start()
    try:
        app = appliance_factory(proxy.port)  # mqtt.protocol = "auto" (the default)
        wait_until(lambda: app.connected, 30, "connected after falling back")
        assert proxy.refused_v5 >= 1
        assert app.service.link is not None and app.service.link.protocol == "3.1.1"
        app.append("complaint", 50)
        wait_until(lambda: app.backlog() == 0, 60, "acknowledged after the fallback")
    finally:
        proxy.close()


def test_the_in_flight_window_is_never_exceeded(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    central_factory(broker.port, f"sqlite:///{tmp_path / 'central.db'}")
    app = appliance_factory(broker.port, env={"APPLIANCE_MQTT__INFLIGHT": "4"})
    app.append("sms_in", 400)
    wait_until(lambda: app.backlog() == 0, 60, "acknowledged with a window of 4")
    assert app.service.relay is not None
    assert 1 <= app.service.relay.peak_in_flight <= 4


def test_disk_full_is_reported_and_nothing_is_dropped(
    broker: Mosquitto, appliance_factory: Callable[..., InProcessAppliance]
) -> None:
    # Ask for more free space than any test disk has: the store reports the disk as low.
    app = appliance_factory(broker.port, env={"APPLIANCE_STORAGE__MIN_FREE_MB": "100000"})
    assert app.store.disk_low()
    app.append("sms_in", 20)
    wait_until(
        lambda: app.service.health.detail.startswith("disk full") and app.service.health.info.get("backlog") == 20,
        20,
        "disk full in the health, with every event still waiting (none dropped)",
    )
    assert app.service.health.state == "degraded"


def test_the_downlink_queue_is_bounded(tmp_path: Path, appliance_factory: Callable[..., InProcessAppliance]) -> None:
    app = appliance_factory(1)  # nothing listens on port 1: the link never connects
    service = app.service

    async def flood() -> int:
        for mid in range(DOWNLINK_QUEUE_MAX + 50):
            service.received(Incoming(f"lab/v1/{SITE}/down/ack", b"{}", mid, 1, 99))
        return service._queue.qsize()

    # The consumer may take one batch meanwhile; the queue itself never holds more than its bound.
    size = asyncio.run_coroutine_threadsafe(flood(), app.loop).result(10)
    assert size <= DOWNLINK_QUEUE_MAX


def test_processed_ids_are_pruned_to_the_bound(
    tmp_path: Path, appliance_factory: Callable[..., InProcessAppliance]
) -> None:
    app = appliance_factory(1)
    store = app.store

    def fill_and_prune() -> int:
        with store.transaction():
            for i in range(300):
                processed.record(store, f"id-{i}", "contacts", i, "applied")
        return processed.prune(store, max_rows=100)

    removed = store.call(fill_and_prune)
    assert removed == 200
    assert store.call(lambda: store.conn.execute("SELECT COUNT(*) FROM sync_downlink_ids").fetchone()[0]) == 100
    assert store.call(processed.seen, store, "id-299") == "applied"
    assert store.call(processed.seen, store, "id-0") is None


def test_a_clean_stop_logs_no_paho_error(
    broker: Mosquitto,
    appliance_factory: Callable[..., InProcessAppliance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(4):  # paho's loop thread logged "Client is not connected" after clean stops mid-stream
        app = appliance_factory(broker.port)
        wait_until(lambda a=app: a.connected, 20, "appliance connected")  # type: ignore[misc]
        app.append("sms_in", 1000)  # still publishing (no central acks them) when the stop comes
        time.sleep(0.3)
        app.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_a_broker_that_is_away_logs_the_links_own_warning_not_paho_errors(
    broker: Mosquitto,
    appliance_factory: Callable[..., InProcessAppliance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broker outage is expected: the link says so once (WARNING, and in its health); paho's loop
    thread logged "Client is not connected … CONNECTING" at ERROR on every try while it was away."""
    caplog.set_level(logging.WARNING)
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    broker.stop()
    wait_until(lambda: not app.connected, 20, "the link saw the broker go")
    time.sleep(4.0)  # several reconnect attempts against nothing
    broker.start()
    wait_until(lambda: app.connected, 60, "appliance reconnected")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert any("mqtt: disconnected" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
