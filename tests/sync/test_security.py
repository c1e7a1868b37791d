"""Security: per-site ACL, certificates, hostile downlink payloads."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.central.server import CentralServer
from sync.envelope import encode, make
from tests.sync.conftest import SITE, USERS, InProcessAppliance, Listener, central_events, wait_until
from tests.sync.mosquitto import Certs, Mosquitto


def _publish_as(port: int, user: str, topic: str, payload: bytes) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, USERS[user])
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_site_cannot_read_or_write_another_sites_topics(broker: Mosquitto) -> None:
    spy = Listener(broker.port, "site-b", USERS["site-b"], ["lab/v1/site-a/down/#", "lab/v1/site-a/up/#"])
    own = Listener(broker.port, "site-a", USERS["site-a"], ["lab/v1/site-a/down/#"])
    central = Listener(broker.port, "central", USERS["central"], ["lab/v1/+/up/#"])
    try:
        for lst in (spy, own, central):
            assert lst.subscribed.wait(10)
        # site-b writes into site-a's downlink and uplink: the broker must drop both.
        _publish_as(broker.port, "site-b", "lab/v1/site-a/down/contacts", b'{"forged": true}')
        _publish_as(broker.port, "site-b", "lab/v1/site-a/up/complaint", b'{"forged": true}')
        # Legitimate traffic, to show the listeners work.
        _publish_as(broker.port, "central", "lab/v1/site-a/down/contacts", b'{"real": 1}')
        _publish_as(broker.port, "site-a", "lab/v1/site-a/up/complaint", b'{"real": 2}')
        wait_until(lambda: len(own.messages) >= 1 and len(central.messages) >= 1, 10, "legitimate messages")
        assert [json.loads(p) for _, p, _ in own.messages] == [{"real": 1}]
        assert [json.loads(p) for _, p, _ in central.messages] == [{"real": 2}]
        assert spy.messages == [], "site-b must not read site-a's topics"
    finally:
        for lst in (spy, own, central):
            lst.close()


def test_wrong_password_is_refused(broker: Mosquitto) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("site-a", "not-the-password")
    result: list[Any] = []
    done = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        result.append(rc)
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port, 30)
    client.loop_start()
    try:
        assert done.wait(10)
        assert result[0].is_failure
    finally:
        client.disconnect()
        client.loop_stop()


def test_tls_with_client_certificate_works_and_a_rogue_certificate_is_refused(
    broker: Mosquitto, certs: Certs, appliance_factory: Callable[..., InProcessAppliance]
) -> None:
    assert broker.tls_port is not None
    app = appliance_factory(
        broker.tls_port,
        env={
            "APPLIANCE_MQTT__TLS": "true",
            "APPLIANCE_MQTT__CA": str(certs.ca),
            "APPLIANCE_MQTT__CERT": str(certs.client_cert),
            "APPLIANCE_MQTT__KEY": str(certs.client_key),
        },
    )
    wait_until(lambda: app.connected, 20, "appliance connected over TLS with its certificate")
    rogue = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    rogue.username_pw_set("site-a", USERS["site-a"])
    rogue.tls_set(ca_certs=str(certs.ca), certfile=str(certs.rogue_cert), keyfile=str(certs.rogue_key))
    accepted = threading.Event()
    rogue.on_connect = lambda _c, _u, _f, rc, _p: None if rc.is_failure else accepted.set()
    refused_at_handshake = False
    try:
        rogue.connect("127.0.0.1", broker.tls_port, 10)
    except (ssl.SSLError, OSError):
        refused_at_handshake = True  # TLS 1.2: the broker rejects the certificate in the handshake
    if not refused_at_handshake:
        rogue.loop_start()  # TLS 1.3 stacks may only see the broker's alert on the first read
        try:
            assert not accepted.wait(5), "a certificate from another CA was accepted"
        finally:
            rogue.disconnect()
            rogue.loop_stop()
    assert "certificate" in broker.log().lower() or refused_at_handshake


@pytest.mark.parametrize(
    ("payload", "reason_part", "has_id"),
    [
        (b"{not json", "not JSON", False),
        (b"\xff\xfe", "not UTF-8", False),
        (json.dumps([1, 2]).encode(), "not an object", False),
        (encode(make("contacts", SITE, 1, {"contact_id": "x"}, envelope_id="bad-schema")), "bad contacts data", True),
        (encode(make("contacts", "site-b", 1, {}, envelope_id="wrong-site")), "site", True),
        (b'{"v":1,"id":"big","pad":"' + b"x" * (1024 * 1024) + b'"}', "bytes", True),
    ],
    ids=["malformed", "not-utf8", "array", "schema", "wrong-site", "oversized"],
)
def test_a_bad_downlink_gives_one_error_event_and_nothing_else(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
    payload: bytes,
    reason_part: str,
    has_id: bool,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    app = appliance_factory(broker.port)
    wait_until(lambda: app.connected, 20, "appliance connected")
    _publish_as(broker.port, "central", f"lab/v1/{SITE}/down/contacts", payload)
    # A good message after the bad one still applies: the bad one did not block the stream.
    good = make(
        "contacts",
        SITE,
        2,
        {
            "contact_id": "ok",
            "version": 1,
            "contact": {"name": "Ok", "phones": [], "language": "en", "consents": {"sms": False, "call": False}},
        },
    )
    _publish_as(broker.port, "central", f"lab/v1/{SITE}/down/contacts", encode(good))
    wait_until(lambda: len(central_events(db_url, SITE, "error")) == 1, 30, "one error event at the central")
    wait_until(lambda: app.query("SELECT COUNT(*) FROM contacts")[0][0] == 1, 10, "the good contact applied")
    (error,) = central_events(db_url, SITE, "error")
    assert reason_part in error.data["reason"]
    assert (error.data["id"] is not None) == has_id
    if has_id:
        assert error.data["id"] == json.loads(payload)["id"]
    assert app.query("SELECT contact_id FROM contacts") == [("ok",)]
    # Nothing else went up: no sms, no other streams.
    streams = {r[0] for r in app.query("SELECT DISTINCT stream FROM events")}
    assert streams == {"error"}
    wait_until(lambda: app.service.health.info.get("refused_downlinks") == 1, 15, "health counts the refusal")
