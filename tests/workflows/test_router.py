"""The inbound router: its order, another part's hook, bounded batches, a failing hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appliance.inbound.router import ROUTE_BATCH, Handled, Inbound
from appliance.notifications.requests import NotificationSettings
from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver
from appliance.store.db import Store
from appliance.surveys import expire_sessions, start_session
from tests.workflows.conftest import ANNA, Box
from tests.workflows.test_surveys import define


def test_order_and_a_hook_added_before_the_plain_message(box: Box) -> None:
    seen: list[str] = []

    def followups(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
        seen.append(msg.text)
        return None  # observes only: the message goes on

    box.router.add_hook("followups", followups)
    assert box.router.order == ["consent", "help", "complaint", "survey", "followups", "sms_in"]
    assert box.receive(ANNA, "Kiitos tiedosta").kind == "sms_in"  # type: ignore[union-attr]
    assert box.receive(ANNA, "STOP").kind == "opt_out"  # type: ignore[union-attr]
    assert seen == ["Kiitos tiedosta"]  # an opt-out never reaches later hooks


def test_a_failing_hook_keeps_the_message_and_the_next_ones_go_on(box: Box) -> None:
    def broken(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
        if "boom" in msg.text:
            raise RuntimeError("bug")
        return None

    box.router.add_hook("broken", broken)
    handled = box.receive(ANNA, "boom")
    assert handled is not None and handled.kind == "error" and "RuntimeError" in handled.detail
    assert box.receive(ANNA, "fine").kind == "sms_in"  # type: ignore[union-attr]


def test_pending_messages_are_routed_in_bounded_batches(box: Box) -> None:
    store = box.store
    for i in range(ROUTE_BATCH + 20):
        box.receiver.store_part(_deliver(f"+35840100{i:04d}", "hello", i))
    first = box.router.route_pending(store)
    second = box.router.route_pending(store)
    assert (len(first), len(second)) == (ROUTE_BATCH, 20)
    assert box.router.route_pending(store) == []


def test_session_expiry_works_in_bounded_batches(store: Store) -> None:
    define(store)
    for i in range(5):
        start_session(store, "sat-2026", "call", number=f"+3584010000{i}", language="en")
    later = datetime.now(UTC) + timedelta(days=4)
    assert len(expire_sessions(store, timedelta(days=3), now=later, limit=3)) == 3
    assert len(expire_sessions(store, timedelta(days=3), now=later, limit=3)) == 2


def _deliver(number: str, text: str, i: int) -> SmsDeliver:
    (pdu,) = encode_deliver(number, text, datetime(2026, 11, 2, 10, 0, tzinfo=UTC) + timedelta(seconds=i))
    msg = decode_pdu(pdu, with_smsc=True)
    assert isinstance(msg, SmsDeliver)
    return msg
