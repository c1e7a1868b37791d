"""The store side: report matching across wrapped references, recovery of in-doubt rows, bounds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.modem.modem import ModemEvent
from appliance.modem.service import MAX_PENDING_EVENTS, ModemService
from appliance.sms.outbox import SmsOutbox
from appliance.sms.pdu import decode_pdu, encode_deliver
from appliance.sms.receiver import InboxReceiver
from appliance.sms.sender import OutboxSender, rfc3339, same_number
from appliance.store.db import Store
from tests.modem.conftest import make_config


def _sent(store: Store, number: str, reference: int, sent_at: datetime) -> int:
    mid = store.call(SmsOutbox(store).enqueue, number, "x").message_id
    sender = OutboxSender(store)
    assert store.call(sender.mark_sending, mid, 1, None)
    store.call(sender.part_sent, mid, 1, reference)
    store.call(
        lambda: store.conn.execute("UPDATE sms_parts SET sent_at = ? WHERE message_id = ?", (rfc3339(sent_at), mid))
    )
    store.call(sender.message_sent, mid)
    return mid


def _status(store: Store, mid: int) -> str:
    return str(store.conn.execute("SELECT status FROM sms_messages WHERE id = ?", (mid,)).fetchone()[0])


def test_report_matches_reference_recipient_and_most_recent_send(store: Store) -> None:
    now = datetime.now(UTC)
    old_same = _sent(store, "+358401234567", 5, now - timedelta(hours=5))  # ref 5 before a wrap
    other = _sent(store, "+46701234567", 5, now - timedelta(minutes=1))  # ref 5, another recipient
    recent = _sent(store, "+358401234567", 5, now - timedelta(minutes=10))
    sender = OutboxSender(store)
    match = store.call(sender.apply_report, 5, "0401234567", "delivered", 0)  # national form
    assert match is not None and match.message_id == recent and match.message_status == "delivered"
    assert _status(store, old_same) == "sent" and _status(store, other) == "sent"
    assert store.call(sender.apply_report, 6, "+358401234567", "delivered", 0) is None
    assert store.call(sender.apply_report, 5, "+46701234567", "failed", 0x41).message_status == "failed"
    again = store.call(sender.apply_report, 5, "0401234567", "delivered", 0)  # repeated report
    assert again is not None and again.message_status is None


def test_multipart_delivered_only_when_every_part_is(store: Store) -> None:
    outbox, sender = SmsOutbox(store), OutboxSender(store)
    mid = store.call(outbox.enqueue, "+358401234567", "y" * 400).message_id
    assert store.call(sender.mark_sending, mid, 3, 7)
    for part, ref in ((1, 254), (2, 255), (3, 0)):  # the references wrap mid-message
        store.call(sender.part_sent, mid, part, ref)
    store.call(sender.message_sent, mid)
    assert store.call(sender.apply_report, 255, "+358401234567", "delivered", 0).message_status is None
    assert store.call(sender.apply_report, 0, "+358401234567", "pending", 0x20).message_status is None
    assert store.call(sender.apply_report, 254, "+358401234567", "delivered", 0).message_status is None
    assert _status(store, mid) == "sent"
    assert store.call(sender.apply_report, 0, "+358401234567", "delivered", 0).message_status == "delivered"


def test_in_doubt_rows_become_unknown_or_sent_at_start(store: Store) -> None:
    outbox, sender = SmsOutbox(store), OutboxSender(store)
    doubt = store.call(outbox.enqueue, "+358401234567", "a").message_id
    done = store.call(outbox.enqueue, "+358401234567", "b").message_id
    waiting = store.call(outbox.enqueue, "+358401234567", "c").message_id
    store.call(sender.mark_sending, doubt, 1, None)
    store.call(sender.mark_sending, done, 1, None)
    store.call(sender.part_sent, done, 1, 9)  # confirmed, but the status write was lost
    assert store.call(sender.recover_in_doubt) == [doubt]
    assert (_status(store, doubt), _status(store, done), _status(store, waiting)) == ("unknown", "sent", "queued")
    assert [d.id for d in store.call(sender.claim_due)] == [waiting]


def test_every_status_change_has_its_event(store: Store) -> None:
    import json

    outbox, sender = SmsOutbox(store), OutboxSender(store)
    mid = store.call(outbox.enqueue, "+358401234567", "z", notification_id="N1").message_id
    store.call(sender.mark_sending, mid, 1, None)
    store.call(sender.send_failed, mid, "+CMS ERROR 42 (congestion)", temporary=True, attempts=1)
    rows = store.conn.execute("SELECT data FROM events WHERE stream = 'sms_status' ORDER BY seq").fetchall()
    events = [json.loads(r[0]) for r in rows]
    assert [e["status"] for e in events] == ["queued", "sending", "queued"]
    assert all(e["notification_id"] == "N1" and e["message_id"] == mid for e in events)
    assert events[-1]["error"].startswith("+CMS ERROR 42")


def test_same_number() -> None:
    assert same_number("+358401234567", "0401234567")
    assert same_number("+358401234567", "358401234567")
    assert not same_number("+358401234567", "+358401234568")
    assert same_number("LAB", "LAB") and not same_number("LAB", "+358")


def test_waiting_parts_are_bounded(store: Store) -> None:
    receiver = InboxReceiver(store, max_waiting=5)
    when = datetime(2026, 11, 22, tzinfo=UTC)
    for n in range(8):  # eight 3-part messages, each missing its last part: 16 fragments
        pdus = encode_deliver(f"+35840000000{n}", f"message {n} " * 40, when, concat_ref=n + 1)
        assert len(pdus) == 3
        for pdu in pdus[:2]:
            store.call(receiver.store_part, decode_pdu(pdu))
        assert store.call(receiver.waiting_parts) <= 5
    incomplete = store.conn.execute(
        "SELECT COUNT(*) FROM sms_messages WHERE box = 'inbox' AND incomplete = 1"
    ).fetchone()[0]
    assert incomplete >= 5


def test_pending_events_are_bounded(tmp_path: Path) -> None:
    config = make_config(tmp_path, "/dev/null")
    store = Store.open(config.db_path)
    try:
        from appliance.daemon.context import AppContext

        service = ModemService(AppContext(config=config, store=store))
        for i in range(MAX_PENDING_EVENTS * 4):
            service._on_event(ModemEvent("new_message", storage="SM", index=i % 10 + 1))
        assert len(service._events) == MAX_PENDING_EVENTS
        assert service._events_overflowed  # what was dropped is found by the next AT+CMGL
    finally:
        store.close()


def test_simulator_survives_an_overlong_command_line(sims: Any) -> None:
    import serial

    sim = sims("sim800")
    port = serial.serial_for_url(sim.port, timeout=2)
    try:
        port.write(b"AT" + b"X" * 5000 + b"\r")
        port.write(b"ATE0\rAT\r")
        seen = b""
        end = time.monotonic() + 20
        while time.monotonic() < end and seen.count(b"OK") < 2:
            seen += port.read(port.in_waiting or 1)
        assert b"ERROR" in seen and seen.count(b"OK") >= 2
    finally:
        port.close()
