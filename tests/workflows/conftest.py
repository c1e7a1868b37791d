"""Fixtures for the workflow tests: a store with the real SMS receiver and inbound router."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.inbound.router import Handled, Router
from appliance.notifications.requests import NotificationSettings
from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver
from appliance.sms.receiver import InboxReceiver
from appliance.store.db import Store

SETTINGS = NotificationSettings(
    country="FI",
    timezone="Europe/Helsinki",
    lab_name="Lab 3",
    quiet_hours="",
    guardian_age=15,
    help_text="Call 09 123 4567, Mon-Fri 8-16.",
)
ANNA = "+358401234567"


class Box:
    """A store seen from outside: SMS in through the receiver and the router, what went out, events."""

    def __init__(self, store: Store, settings: NotificationSettings = SETTINGS) -> None:
        self.store = store
        self.receiver = InboxReceiver(store, "FI")
        self.router = Router(settings)
        self._clock = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def receive(self, number: str, text: str) -> Handled | None:
        """One SMS from ``number`` through the real receiver, then routed."""
        self._clock += timedelta(seconds=7)  # each its own service-centre time stamp
        for pdu in encode_deliver(number, text, self._clock):
            msg = decode_pdu(pdu, with_smsc=True)
            assert isinstance(msg, SmsDeliver)
            stored = self.receiver.store_part(msg)
        assert stored.message_id is not None
        return self.router.route(self.store, stored.message_id)

    def sent(self, number: str | None = None, *, status: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, number, text, status, language, purpose, last_error, not_before FROM sms_messages "
        sql += "WHERE box = 'outbox'"
        params: list[Any] = []
        if number:
            sql += " AND number = ?"
            params.append(number)
        if status:
            sql += " AND status = ?"
            params.append(status)
        keys = ("id", "number", "text", "status", "language", "purpose", "error", "not_before")
        return [dict(zip(keys, r, strict=True)) for r in self.store.conn.execute(sql + " ORDER BY id", params)]

    def events(self, stream: str) -> list[dict[str, Any]]:
        rows = self.store.conn.execute("SELECT data FROM events WHERE stream = ? ORDER BY seq", (stream,))
        return [json.loads(r[0]) for r in rows]


@pytest.fixture
def box(store: Store) -> Box:
    return Box(store)


@pytest.fixture
def data_store(tmp_path: Path) -> Iterator[Store]:
    """A store at ``tmp_path/appliance.db`` (what the CLI opens with APPLIANCE_DATA_DIR=tmp_path)."""
    s = Store.open(tmp_path / "appliance.db")
    try:
        yield s
    finally:
        s.close()


def add_contact(
    store: Store, contact_id: str, phone: str, language: str = "fi", sms: bool = True, **extra: Any
) -> None:
    from appliance.contacts import apply_contact

    contact = {
        "name": extra.pop("name", "Anna Virtanen"),
        "phones": [phone],
        "language": language,
        "consents": {"sms": sms, "call": True, "recording": False},
        **extra,
    }
    with store.transaction():
        apply_contact(store, {"contact_id": contact_id, "version": 1, "contact": contact}, "FI")
