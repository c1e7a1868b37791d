"""Shared by the test_sched_/test_campaign_/test_summary_/test_duplicates_ tests: contacts, settings, clocks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from appliance.followups.followups import FollowupSettings
from appliance.notifications.requests import NotificationSettings
from appliance.store.db import Store

HELSINKI = "Europe/Helsinki"


def utc(text: str) -> datetime:
    """A naive ISO time read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_contact(
    store: Store,
    contact_id: str,
    name: str,
    phones: Iterable[str],
    *,
    language: str = "fi",
    birth_date: str | None = None,
    sex: str | None = None,
    tags: Iterable[str] = (),
    consent_sms: bool = True,
    guardian: str | None = None,
    updated_at: str = "2026-01-01T00:00:00.000Z",
) -> None:
    """A synced contact, written as the contacts part stores it."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO contacts(contact_id, version, name, language, birth_date, sex, tags, consent_sms, "
            "consent_call, guardian_contact_id, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (contact_id, name, language, birth_date, sex, json.dumps(list(tags)), int(consent_sms), guardian,
             updated_at),
        )
        for i, number in enumerate(phones):
            store.conn.execute(
                "INSERT INTO contact_phones(contact_id, position, number) VALUES (?, ?, ?)", (contact_id, i, number)
            )


def notification_settings(timezone: str = HELSINKI, quiet_hours: str = "21:00-08:00") -> NotificationSettings:
    return NotificationSettings(
        country="FI", timezone=timezone, lab_name="Lab 3", quiet_hours=quiet_hours, guardian_age=15
    )


def followup_settings(timezone: str = HELSINKI, quiet_hours: str = "21:00-08:00", **kw: Any) -> FollowupSettings:
    return FollowupSettings(timezone=timezone, quiet_hours=quiet_hours, lab_name="Lab 3", **kw)


def events(store: Store, stream: str) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT data FROM events WHERE stream = ? ORDER BY n", (stream,))
    return [json.loads(r[0]) for r in rows]


def outbox(store: Store) -> list[dict[str, Any]]:
    cur = store.conn.execute(
        "SELECT id, number, text, status, notification_id, parts, created_at FROM sms_messages "
        "WHERE box = 'outbox' ORDER BY id"
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def inbound(store: Store, number: str, text: str, at: str) -> int:
    """A received SMS as the modem part stores it."""
    with store.transaction():
        cur = store.conn.execute(
            "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
            "VALUES ('inbox', ?, ?, 'received', ?, ?)",
            (number, text, at, at),
        )
    return int(cur.lastrowid or 0)
