"""The MQTT connection: one paho-mqtt 2.x client, one network thread, persistent session.

paho runs its network loop in its own thread (``loop_start``) and reconnects by
itself; this module sets it up the way INTERFACES.md §3 needs it and hands
every callback over to the asyncio loop (``call_soon_threadsafe``):

- MQTT 5 with a session expiry and ``clean_start=False``; MQTT 3.1.1 with
  ``clean_session=False``; ``protocol = "auto"`` tries 5 and falls back to
  3.1.1 when the broker refuses the protocol version.
- A stable client id (``mqtt.client_id`` or ``appliance-<site.id>``), so the
  broker keeps the downlink subscription and queues what the central sends
  while the appliance is offline.
- ``manual_ack=True``: a downlink message is PUBACKed only when the service
  says so (after its durable commit), and only on the connection it came on.
- A retained ``status`` ``{"online": true, ...}`` on connect, the same topic as
  the will with ``{"online": false}``.
- Reconnect delays from :class:`~appliance.sync.backoff.Backoff` (jittered).
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from appliance import __version__
from appliance.config import Config
from appliance.errors import ConfigError
from appliance.sync.backoff import RECONNECT_FIRST_S, RECONNECT_MAX_S, Backoff
from appliance.sync.downlink import Incoming
from sync.envelope import Topics, utc_timestamp

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = (
    14 * 24 * 3600
)  # the broker keeps our subscription and queue for two weeks offline
RECEIVE_MAXIMUM = 100  # downlink messages the broker may have unacknowledged with us (MQTT 5)
STATUS_PUBLISH_TIMEOUT_S = 2.0  # at shutdown, how long to wait for the offline status to go out
LOOP_STOP_TIMEOUT_S = 5.0
# CONNACK codes meaning "I do not speak this protocol version" (v5: 0x84; v3 return code 1).
UNSUPPORTED_PROTOCOL_CODES = (0x84, 1)


@dataclass(frozen=True)
class LinkSettings:
    """What the link needs from the configuration."""

    host: str
    port: int
    client_id: str
    protocol: str  # "auto", "5", "3.1.1"
    keepalive: int
    username: str
    password: str
    tls: bool
    ca: str
    cert: str
    key: str
    inflight: int
    site: str
    topic_prefix: str
    reconnect_first_s: float = RECONNECT_FIRST_S
    reconnect_max_s: float = RECONNECT_MAX_S

    @classmethod
    def from_config(cls, config: Config) -> LinkSettings:
        m = config.mqtt
        return cls(
            host=m.host,
            port=m.port,
            client_id=m.client_id or f"appliance-{config.site.id}",
            protocol=m.protocol,
            keepalive=m.keepalive,
            username=m.username,
            password=m.password,
            tls=m.tls,
            ca=m.ca,
            cert=m.cert,
            key=m.key,
            inflight=m.inflight,
            site=config.site.id,
            topic_prefix=m.topic_prefix,
        )


class LinkListener:
    """What the link tells the service (called on the asyncio loop)."""

    def link_up(self, generation: int, session_present: bool) -> None: ...
    def link_down(self, reason: str) -> None: ...
    def published(self, pubacks: list[tuple[int, bool]]) -> None: ...
    def received(self, message: Incoming) -> None: ...
    def protocol_refused(self) -> None: ...


class MqttLink:
    """One paho client with its network thread; thread-safe ``publish`` and ``ack``."""

    def __init__(
        self, settings: LinkSettings, listener: LinkListener, call_soon: Callable[..., Any]
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix, settings.site)
        self._listener = listener
        self._call_soon = call_soon  # loop.call_soon_threadsafe
        self._backoff = Backoff(settings.reconnect_first_s, settings.reconnect_max_s)
        self._lock = threading.Lock()
        self.generation = 0
        self.connected = False
        self.protocol = "3.1.1" if settings.protocol == "3.1.1" else "5"
        self.fallback_requested = False
        self.last_error = ""
        self._client: mqtt.Client | None = None
        self._pubacks: list[tuple[int, bool]] = []
        self._pubacks_scheduled = False
        self._stopping = False

    # -- life cycle ------------------------------------------------------------

    def start(self) -> None:
        """Build the client and start its network thread (returns at once; connects in background)."""
        s = self.settings
        v5 = self.protocol == "5"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=None if v5 else False,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=True,
        )
        # One logger per link (not registered, propagating to "appliance.sync"), so its filter
        # can hide paho's "Client is not connected" ERROR that its own loop thread logs on every
        # try while the broker is away and after a clean stop: the link's own WARNING and its
        # health say it once.
        paho_log = logging.Logger("appliance.sync.paho", logging.WARNING)  # debug logs every packet
        paho_log.parent = logging.getLogger("appliance.sync")
        paho_log.addFilter(self._hide_stop_noise)
        client.enable_logger(paho_log)
        client.max_inflight_messages_set(max(20, s.inflight * 2))
        client.max_queued_messages_set(0)  # the relay's window bounds what is handed to paho
        first = self._backoff.next_delay()
        client.reconnect_delay_set(first, first)  # type: ignore[arg-type]
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls:
            try:
                client.tls_set(
                    ca_certs=s.ca or None,
                    certfile=s.cert or None,
                    keyfile=s.key or None,
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as err:
                raise ConfigError(
                    "mqtt.ca/mqtt.cert/mqtt.key", f"{s.ca}, {s.cert}, {s.key}", f"readable PEM files ({err})"
                ) from err
        client.will_set(self.topics.status, self._status_payload(False), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = RECEIVE_MAXIMUM
            client.connect_async(s.host, s.port, s.keepalive, clean_start=False, properties=props)
        else:
            client.connect_async(s.host, s.port, s.keepalive)
        self._client = client
        client.loop_start()
        log.info(
            "mqtt: connecting to %s:%d as %s (MQTT %s%s)",
            s.host,
            s.port,
            s.client_id,
            self.protocol,
            ", TLS" if s.tls else "",
        )

    def stop(self) -> None:
        """Say offline (retained), disconnect cleanly and stop the network thread (blocking)."""
        client = self._client
        if client is None:
            return
        self._stopping = True
        if self.connected:
            info = client.publish(
                self.topics.status, self._status_payload(False), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):  # offline already: the will says so
                info.wait_for_publish(STATUS_PUBLISH_TIMEOUT_S)
        client.disconnect()
        client.loop_stop()
        self._client = None
        self.connected = False
        self._stopping = False

    def _hide_stop_noise(self, record: logging.LogRecord) -> bool:
        return self.connected or not record.getMessage().startswith("Client is not connected")

    def restart_as_311(self) -> None:
        """Fall back to MQTT 3.1.1 (the broker refused MQTT 5)."""
        self.stop()
        self.protocol = "3.1.1"
        self.fallback_requested = False
        self.start()

    # -- used from the asyncio loop -------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int | None:
        """Hand a message to paho; its mid, or None when not connected."""
        client = self._client
        if client is None or not self.connected:
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    def ack(self, message: Incoming) -> bool:
        """PUBACK ``message`` if it came on the current connection (else the broker redelivers it)."""
        client = self._client
        if client is None or message.qos == 0:
            return False
        with self._lock:
            if message.generation != self.generation or not self.connected:
                return False
            return client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    # -- paho callbacks (network thread) --------------------------------------

    def _status_payload(self, online: bool) -> bytes:
        doc: dict[str, Any] = {"online": online, "site": self.settings.site, "ts": utc_timestamp()}
        if online:
            doc.update({"version": __version__, "protocol": self.protocol})
        return json.dumps(doc, separators=(",", ":")).encode()

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            log.warning("mqtt: %s", self.last_error)
            if (
                self.settings.protocol == "auto"
                and self.protocol == "5"
                and reason.value in UNSUPPORTED_PROTOCOL_CODES
            ):
                self.fallback_requested = True
                self._call_soon(self._listener.protocol_refused)
            return
        with self._lock:
            self.generation += 1
            self.connected = True
            generation = self.generation
        self._backoff.reset()
        first = self._backoff.next_delay()
        client.reconnect_delay_set(first, first)  # type: ignore[arg-type]
        self.last_error = ""
        session_present = bool(getattr(flags, "session_present", False))
        # Subscribe on every connect: a broker restarted without persistence forgot the session.
        client.subscribe(self.topics.down_all, qos=1)
        client.publish(self.topics.status, self._status_payload(True), qos=1, retain=True)
        log.info("mqtt: connected (session %s)", "resumed" if session_present else "new")
        self._call_soon(self._listener.link_up, generation, session_present)

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        self._next_delay(client, "cannot reach the broker")

    def _on_disconnect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        with self._lock:
            was_connected = self.connected
            self.connected = False
        text = f"disconnected: {reason}"
        if was_connected:
            log.log(logging.INFO if self._stopping else logging.WARNING, "mqtt: %s", text)
        self._next_delay(client, text)
        self._call_soon(self._listener.link_down, text)

    def _next_delay(self, client: mqtt.Client, why: str) -> None:
        delay = self._backoff.next_delay()
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]
        self.last_error = self.last_error or why
        log.debug("mqtt: %s; next try in %.1f s", why, delay)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        ok = not reason.is_failure
        if not ok:
            log.warning("mqtt: broker refused publish %d: %s", mid, reason)
        # PUBACKs are handed over in bunches: one loop wake-up per bunch, not per message.
        with self._lock:
            self._pubacks.append((mid, ok))
            if self._pubacks_scheduled:
                return
            self._pubacks_scheduled = True
        self._call_soon(self._deliver_pubacks)

    def _deliver_pubacks(self) -> None:
        with self._lock:
            bunch, self._pubacks = self._pubacks, []
            self._pubacks_scheduled = False
        self._listener.published(bunch)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        incoming = Incoming(
            msg.topic, bytes(msg.payload), int(msg.mid), int(msg.qos), self.generation
        )
        self._call_soon(self._listener.received, incoming)
