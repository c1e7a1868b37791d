"""Round trips through a real Mosquitto with the reference central: up, down, status."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sync.central.server import CentralServer, push
from tests.sync.conftest import (
    SITE,
    USERS,
    InProcessAppliance,
    Listener,
    central_events,
    central_settings,
    wait_until,
)
from tests.sync.mosquitto import Mosquitto

CONTACT = {
    "contact_id": "c-1",
    "version": 3,
    "contact": {
        "name": "Anna Virtanen",
        "phones": ["040 123 4567", "+358 9 1234567"],
        "language": "fi",
        "birth_date": "1980-05-01",
        "consents": {"sms": True, "call": True, "recording": False},
    },
}


def test_uplink_events_arrive_once_in_order_and_are_acknowledged(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    app = appliance_factory(broker.port)
    app.append("survey_reply", 300)
    app.append("call", 120)
    wait_until(lambda: app.backlog() == 0, 60, "every event acknowledged by the central")
    for stream, count in (("survey_reply", 300), ("call", 120)):
        events = central_events(db_url, SITE, stream)
        assert [e.seq for e in events] == list(range(1, count + 1))
        assert [e.data["i"] for e in events] == list(range(count))
        assert len({e.id for e in events}) == count
    acked = app.query("SELECT stream, acked_seq FROM event_streams ORDER BY stream")
    assert acked == [("call", 120), ("survey_reply", 300)]


def test_without_the_idle_poll_a_commit_in_the_process_wakes_the_relay(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    """The fleet's sites poll their outbox every 30 s only (no other process writes an in-memory
    store): each event must still leave at once, woken by the store's commit signal."""
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    app = appliance_factory(broker.port, idle_check_s=3600.0)
    wait_until(lambda: app.connected, 15, "the appliance connected")
    for i in range(3):
        app.append("sms_in", 1, start=i)
        wait_until(lambda i=i: app.backlog() == 0, 20, f"event {i + 1} sent without the poll and acknowledged")
    assert [e.seq for e in central_events(db_url, SITE, "sms_in")] == [1, 2, 3]


def test_downlink_contact_and_notification_become_a_queued_sms_reported_up(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    settings = central_settings(broker.port, db_url)
    push(settings, SITE, "contacts", [CONTACT])
    notification = {
        "notification_id": "n-1",
        "contact_id": "c-1",
        "channel": "sms",
        "template": "results_ready",
        "params": {"lab": "Lab 3"},
    }
    push(settings, SITE, "notifications", [notification])
    wait_until(
        lambda: any(e.data.get("notification_id") == "n-1" for e in central_events(db_url, SITE, "sms_status")),
        30,
        "the queued SMS reported to the central",
    )
    rows = app.query("SELECT number, text, status, notification_id FROM sms_messages")
    assert rows == [
        ("+358401234567", "Lab 3: tutkimustuloksesi ovat valmiina. Voit noutaa ne vastaanotosta.", "queued", "n-1")
    ]
    phones = app.query("SELECT number FROM contact_phones WHERE contact_id = 'c-1' ORDER BY position")
    assert phones == [("+358401234567",), ("+35891234567",)]
    # The same notification again (a new envelope, same notification_id): nothing new.
    push(settings, SITE, "notifications", [notification])
    wait_until(
        lambda: app.query("SELECT COUNT(*) FROM sync_downlink_ids WHERE stream = 'notifications'")[0][0] == 2,
        20,
        "second envelope processed",
    )
    assert app.query("SELECT COUNT(*) FROM sms_messages")[0][0] == 1


def test_status_is_retained_online_and_offline_after_stop(
    broker: Mosquitto, appliance_factory: Callable[..., InProcessAppliance]
) -> None:
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    topic = f"lab/v1/{SITE}/status"
    listener = Listener(broker.port, "central", USERS["central"], [topic])
    try:
        wait_until(lambda: bool(listener.json_on(topic)), 10, "retained status")
        first = listener.messages[0]
        assert first[2] is True, "status must be retained"
        assert json.loads(first[1])["online"] is True
        app.stop()
        wait_until(lambda: listener.json_on(topic)[-1]["online"] is False, 15, "offline status")
    finally:
        listener.close()
