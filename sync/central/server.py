"""The reference central endpoint: store every site's uplink once, acknowledge by watermark.

One instance = one paho client (MQTT 5, persistent session, ``manual_ack``)
subscribed to ``$share/<group>/<prefix>/+/up/#``: the broker spreads the sites'
messages over every instance of the group, so more instances share the load.
A worker thread takes messages in batches, validates each envelope, stores the
batch in one commit (duplicates skipped by id), moves the watermarks of the
streams it touched (highest seq without a gap below) and publishes them on
``<prefix>/<site>/down/ack``; only then are the messages PUBACKed. A message
whose envelope is invalid is logged, counted and PUBACKed (it would never get
better by redelivery).

Gaps are asked for, not waited for (PROTOCOL.md, "Gap fill"): after every
(re)connect the instance announces each known stream's watermark with
``resend: true`` (paced at :data:`ANNOUNCE_RATE` per second), and a stream
whose stored seqs stay above a gap for :data:`GAP_GRACE_S` gets the same ack,
repeated with a doubling interval while the gap stays.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from appliance.errors import ValidationError
from sync.central.db import CentralDB, StoredEvent, open_db
from sync.envelope import EnvelopeError, decode, encode, make

log = logging.getLogger(__name__)

BATCH_MAX = 2000  # messages stored per commit
BATCH_WAIT_S = 0.01  # after the first message, wait this long for more to fill the batch
QUEUE_MAX = 20_000  # received, not yet stored (the broker's in-flight window bounds it in practice)
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 5000  # in-flight messages the broker may send us before our PUBACKs
DB_RETRY_S = 2.0
GAP_GRACE_S = 1.0  # a gap younger than this may be another instance's batch still committing
GAP_REPEAT_FIRST_S = 1.0  # a gap that stays is asked for again after 1, 2, 4, ... s
GAP_REPEAT_MAX_S = 30.0
GAPS_MAX = 100_000  # streams tracked with an open gap (beyond: found again by the next event)
GAP_SWEEP_MAX = 500  # gaps re-checked per sweep
ANNOUNCE_RATE = 2000.0  # resend announcements per second after a (re)connect, per instance
ANNOUNCE_CHUNK_MAX = 1000


@dataclass
class CentralSettings:
    """How one central instance connects and where it stores."""

    host: str = "127.0.0.1"
    port: int = 1883
    db_url: str = "sqlite:///appliance-central.db"
    topic_prefix: str = "lab/v1"
    group: str = "central"
    client_id: str = "central-1"
    username: str = ""
    password: str = ""
    tls: bool = False
    ca: str = ""
    cert: str = ""
    key: str = ""
    keepalive: int = 30
    receive_maximum: int = RECEIVE_MAXIMUM  # the broker's in-flight window towards this instance
    protocol: str = "5"  # "5", or "3.1.1" for engines without MQTT 5 (NATS, RabbitMQ < 3.13)
    # "I/N": without shared subscriptions, instance I of N stores the sites whose CRC-32 % N == I
    # (it still receives and PUBACKs every site's uplink; the others' is left to their instance).
    partition: str = ""

    def owns(self, site: str) -> bool:
        if not self.partition:
            return True
        index, count = (int(x) for x in self.partition.split("/"))
        return zlib.crc32(site.encode()) % count == index


@dataclass
class CentralCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    data_warnings: int = 0
    acks_sent: int = 0
    resend_requests: int = 0
    batches: int = 0
    watermarks: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class _Gap:
    """A stream with seqs stored above its watermark: when to ask next, and what was seen."""

    due: float
    interval: float
    mark: int
    top: int


def make_client(settings: CentralSettings, client_id: str, *, manual_ack: bool) -> mqtt.Client:
    """A paho client (MQTT 5, or 3.1.1 with a persistent session) configured from ``settings``."""
    v5 = settings.protocol != "3.1.1"
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else False,
        manual_ack=manual_ack,
    )
    client.max_inflight_messages_set(1000)
    if settings.username:
        client.username_pw_set(settings.username, settings.password or None)
    if settings.tls:
        client.tls_set(ca_certs=settings.ca or None, certfile=settings.cert or None, keyfile=settings.key or None)
    return client


class CentralServer:
    """One central instance; ``start()`` returns at once, ``stop()`` drains and disconnects."""

    def __init__(self, settings: CentralSettings, on_event: Callable[[StoredEvent], None] | None = None) -> None:
        self.settings = settings
        self.counters = CentralCounters()
        self._on_event = on_event
        self._queue: queue.Queue[tuple[mqtt.MQTTMessage, int]] = queue.Queue(QUEUE_MAX)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.connected = threading.Event()
        self._client = make_client(settings, settings.client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self.db: CentralDB | None = None
        self._announce_requested = threading.Event()
        self._announce: deque[tuple[str, str, int]] = deque()
        self._announce_clock = 0.0
        self._gaps: dict[tuple[str, str], _Gap] = {}

    @property
    def up_filter(self) -> str:
        if self.settings.partition:
            return f"{self.settings.topic_prefix}/+/up/#"
        return f"$share/{self.settings.group}/{self.settings.topic_prefix}/+/up/#"

    def start(self) -> None:
        self.db = open_db(self.settings.db_url)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = self.settings.receive_maximum
        self._client.reconnect_delay_set(1, 10)
        if self.settings.protocol == "3.1.1":
            self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive)
        else:
            self._client.connect_async(
                self.settings.host, self.settings.port, self.settings.keepalive, clean_start=False, properties=props
            )
        self._worker = threading.Thread(target=self._work, name="central-store", daemon=True)
        self._worker.start()
        self._client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(10)
        self._client.disconnect()
        self._client.loop_stop()
        if self.db is not None:
            self.db.close()
            self.db = None

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    # -- paho callbacks (network thread) ---------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("central: broker refused the connection: %s", reason)
            return
        with self._gen_lock:
            self._generation += 1
        client.subscribe(self.up_filter, qos=1)
        client.subscribe(f"{self.settings.topic_prefix}/+/status", qos=1)
        self._announce_requested.set()  # what the broker dropped meanwhile is asked for again
        self.connected.set()
        log.info("central %s: connected, subscribed to %s", self.settings.client_id, self.up_filter)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.connected.clear()
        log.warning("central %s: disconnected: %s", self.settings.client_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Blocking put: a full queue holds the network thread, so the broker holds the rest.
        self._queue.put((msg, self._generation))

    # -- the worker ------------------------------------------------------------

    def _take_batch(self) -> list[tuple[mqtt.MQTTMessage, int]]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + BATCH_WAIT_S
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=max(0.0, remaining)) if remaining > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            while batch and not self._stop.is_set():
                try:
                    self._handle(batch)
                    break
                except Exception:
                    log.exception("central: storing a batch failed; retrying in %.0f s", DB_RETRY_S)
                    time.sleep(DB_RETRY_S)
            try:
                self._ask_for_gaps()
            except Exception:
                log.exception("central: asking for gaps failed; trying again")
                time.sleep(DB_RETRY_S)

    def _ask_for_gaps(self) -> None:
        """Announce watermarks after a (re)connect; ask again for gaps that stay (bounded, paced)."""
        assert self.db is not None
        now = time.monotonic()
        if self._announce_requested.is_set() and self.connected.is_set():
            self._announce_requested.clear()
            self._announce = deque(w for w in self.db.watermarks() if self.settings.owns(w[0]))
            self._announce_clock = now
            if self._announce:
                log.info("central %s: announcing %d watermarks", self.settings.client_id, len(self._announce))
        if self._announce:
            budget = min(ANNOUNCE_CHUNK_MAX, int((now - self._announce_clock) * ANNOUNCE_RATE))
            if budget > 0:
                self._announce_clock = now
                marks: dict[tuple[str, str], int] = {}
                while self._announce and len(marks) < budget:
                    site, stream, mark = self._announce.popleft()
                    marks[(site, stream)] = max(mark, self.counters.watermarks.get((site, stream), 0))
                self._publish_acks(marks, resend=set(marks))
        due = [key for key, gap in self._gaps.items() if gap.due <= now][:GAP_SWEEP_MAX]
        if not due:
            return
        marks = self.db.advance_watermarks(due)  # another instance may have filled it meanwhile
        tops = self.db.max_seqs(due)
        open_gaps: set[tuple[str, str]] = set()
        for key in due:
            gap = self._gaps[key]
            if marks[key] >= tops[key]:
                del self._gaps[key]
                continue
            if marks[key] > gap.mark:  # the last ask helped: keep asking briskly
                gap.interval = GAP_REPEAT_FIRST_S
            gap.mark, gap.top = marks[key], tops[key]
            gap.due = now + gap.interval
            gap.interval = min(gap.interval * 2, GAP_REPEAT_MAX_S)
            open_gaps.add(key)
        self._publish_acks(marks, resend=open_gaps)

    def _note_gaps(self, marks: dict[tuple[str, str], int], tops: dict[tuple[str, str], int]) -> None:
        now = time.monotonic()
        for key, mark in marks.items():
            gap = self._gaps.get(key)
            top = max(tops.get(key, 0), gap.top if gap else 0)
            if top <= mark:
                self._gaps.pop(key, None)
            elif gap is not None:
                gap.top = top
            elif len(self._gaps) < GAPS_MAX:
                self._gaps[key] = _Gap(now + GAP_GRACE_S, GAP_REPEAT_FIRST_S, mark, top)

    def _handle(self, batch: list[tuple[mqtt.MQTTMessage, int]]) -> None:
        assert self.db is not None
        events: list[StoredEvent] = []
        prefix = self.settings.topic_prefix + "/"
        for msg, _gen in batch:
            self.counters.received += 1
            rest = msg.topic[len(prefix) :].split("/") if msg.topic.startswith(prefix) else []
            if len(rest) == 2 and rest[1] == "status":
                self._site_status(rest[0], bytes(msg.payload))
                continue
            if len(rest) != 3 or rest[1] != "up":
                self.counters.invalid += 1
                continue
            if not self.settings.owns(rest[0]):
                continue  # another instance's partition: PUBACKed below, stored there
            try:
                env = decode(
                    bytes(msg.payload), direction="up", expect_site=rest[0], expect_type=rest[2], check_data=False
                )
            except (EnvelopeError, ValidationError) as err:
                self.counters.invalid += 1
                log.warning("central: refused %s: %s", msg.topic, err)
                continue
            # Data is not checked against its schema here (hot path): data that breaks it
            # is stored anyway, since refusing it would stall the stream's watermark for good.
            assert env.seq is not None and env.ts is not None
            events.append(StoredEvent(env.id, env.site, env.type, env.seq, env.ts, env.data))
        if events:
            new = self.db.store_events(events)
            self.counters.stored += new
            self.counters.duplicates += len(events) - new
            marks = self.db.advance_watermarks((e.site, e.stream) for e in events)
            tops: dict[tuple[str, str], int] = {}
            for e in events:
                key = (e.site, e.stream)
                tops[key] = max(tops.get(key, 0), e.seq)
            self._note_gaps(marks, tops)
            self._publish_acks(marks)
            if self._on_event is not None:
                for e in events:
                    self._on_event(e)
        with self._gen_lock:
            generation = self._generation
        for msg, gen in batch:
            if msg.qos > 0 and gen == generation:
                self._client.ack(msg.mid, msg.qos)
        self.counters.batches += 1

    def _publish_acks(
        self, marks: dict[tuple[str, str], int], resend: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        assert self.db is not None
        todo = []
        for (site, stream), mark in marks.items():
            key = (site, stream)
            self.counters.watermarks[key] = max(mark, self.counters.watermarks.get(key, 0))
            if mark > 0 or key in resend:
                todo.append((site, stream, mark, key in resend))
        counts: dict[str, int] = {}
        for site, _stream, _mark, _r in todo:
            counts[site] = counts.get(site, 0) + 1
        seqs = self.db.reserve_down_seqs("ack", counts) if counts else {}
        for site, stream, mark, ask in todo:
            data: dict[str, Any] = {"stream": stream, "seq": mark}
            if ask:
                data["resend"] = True
                self.counters.resend_requests += 1
            env = make("ack", site, seqs[site], data)
            seqs[site] += 1
            self._client.publish(f"{self.settings.topic_prefix}/{site}/down/ack", encode(env), qos=1)
            self.counters.acks_sent += 1

    def _site_status(self, site: str, payload: bytes) -> None:
        assert self.db is not None
        try:
            status = json.loads(payload.decode("utf-8")) if payload else {"online": False, "cleared": True}
        except (UnicodeDecodeError, json.JSONDecodeError):
            log.warning("central: unreadable status from site %s", site)
            return
        if isinstance(status, dict):
            self.db.set_site_status(site, status)


def push(
    settings: CentralSettings,
    site: str,
    stream: str,
    items: list[dict[str, Any]],
    *,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Publish ``items`` (each a ``data`` object) to ``<prefix>/<site>/down/<stream>``, QoS 1.

    Seqs come from the central database (1, 2, 3, ... per site and stream).
    Returns the envelopes once the broker has PUBACKed all of them.
    """
    db = open_db(settings.db_url)
    try:
        seqs = db.next_down_seqs(site, stream, len(items)) if items else []
    finally:
        db.close()
    envelopes = [make(stream, site, seq, data) for seq, data in zip(seqs, items, strict=True)]
    client = make_client(settings, f"{settings.client_id}-push-{int(time.time() * 1000) % 10**9}", manual_ack=False)
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    client.connect(settings.host, settings.port, settings.keepalive)
    client.loop_start()
    try:
        if not connected.wait(timeout) or refused:
            raise ConnectionError(f"broker {settings.host}:{settings.port}: {refused or 'no answer'}")
        infos = [
            client.publish(f"{settings.topic_prefix}/{site}/down/{stream}", encode(env), qos=1) for env in envelopes
        ]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise TimeoutError(f"broker did not acknowledge message {info.mid} in {timeout:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()
    return envelopes
