"""Downlink rules on a real store, without MQTT: versions, tombstones, consent, guardian, quiet hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.contacts import apply_contact
from appliance.errors import ValidationError
from appliance.notifications.quiet_hours import release_time
from appliance.notifications.requests import NotificationSettings, accept_request
from appliance.notifications.templates import TEMPLATES, render
from appliance.store.db import Store
from appliance.sync.downlink import DownlinkApplier, Incoming
from sync.envelope import EnvelopeError, Topics, decode, encode, make

SETTINGS = NotificationSettings(
    country="FI", timezone="Europe/Helsinki", lab_name="Lab 3", quiet_hours="21:00-08:00", guardian_age=15
)
NOON_UTC = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki


def contact(cid: str, version: int, **over: Any) -> dict[str, Any]:
    body = {
        "name": cid,
        "phones": ["0401234567"],
        "language": "sv",
        "consents": {"sms": True, "call": True},
    }
    body.update(over)
    return {"contact_id": cid, "version": version, "contact": body}


def test_older_or_equal_versions_are_ignored_and_tombstones_stay(store: Store) -> None:
    with store.transaction():
        assert apply_contact(store, contact("c", 2), "FI") == "applied"
        assert apply_contact(store, contact("c", 2, name="same version"), "FI") == "ignored"
        assert apply_contact(store, contact("c", 1, name="older"), "FI") == "ignored"
        assert apply_contact(store, {"contact_id": "c", "version": 5, "deleted": True}, "FI") == "applied"
        assert apply_contact(store, contact("c", 4, name="late older upsert"), "FI") == "ignored"
    row = store.conn.execute("SELECT version, deleted, name FROM contacts WHERE contact_id = 'c'").fetchone()
    assert row == (5, 1, None)
    assert store.conn.execute("SELECT COUNT(*) FROM contact_phones").fetchone()[0] == 0


def _accept(store: Store, data: dict[str, Any], now: datetime = NOON_UTC) -> Any:
    with store.transaction():
        return accept_request(store, SETTINGS, data, "env-" + data["notification_id"], now)


def _events(store: Store, stream: str) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT data FROM events WHERE stream = ? ORDER BY seq", (stream,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_no_consent_means_no_sms_and_a_failed_status(store: Store) -> None:
    with store.transaction():
        apply_contact(store, contact("c", 1, consents={"sms": False, "call": True}), "FI")
    out = _accept(store, {"notification_id": "n", "contact_id": "c", "channel": "sms", "text": "hi"})
    assert out.status == "refused" and out.reason == "no_consent"
    assert store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0] == 0
    assert _events(store, "sms_status") == [
        {"notification_id": "n", "status": "failed", "reason": "no_consent", "contact_id": "c"}
    ]


def test_a_child_is_reached_through_the_guardian_in_the_guardians_language(store: Store) -> None:
    with store.transaction():
        apply_contact(store, contact("kid", 1, birth_date="2018-01-01", guardian_contact_id="mum", language="fi"), "FI")
        apply_contact(store, contact("mum", 1, phones=["+46701234567"], language="sv"), "FI")
    out = _accept(store, {"notification_id": "n", "contact_id": "kid", "channel": "sms", "template": "results_ready"})
    assert out.status == "queued"
    number, text = store.conn.execute("SELECT number, text FROM sms_messages").fetchone()
    assert number == "+46701234567"
    assert text == render("results_ready", "sv", {}, lab="Lab 3")


def test_quiet_hours_defer_to_the_morning(store: Store) -> None:
    with store.transaction():
        apply_contact(store, contact("c", 1), "FI")
    late = datetime(2026, 11, 22, 21, 30, tzinfo=UTC)  # 23:30 in Helsinki
    _accept(store, {"notification_id": "n", "contact_id": "c", "channel": "sms", "text": "x"}, late)
    (not_before,) = store.conn.execute("SELECT not_before FROM sms_messages").fetchone()
    assert not_before == "2026-11-23T06:00:00.000Z"  # 08:00 Helsinki (UTC+2)


def test_a_call_request_is_stored_pending_and_reported(store: Store) -> None:
    with store.transaction():
        apply_contact(store, contact("c", 1), "FI")
    out = _accept(
        store, {"notification_id": "n", "contact_id": "c", "channel": "call", "template": "followup_reminder"}
    )
    assert out.status == "pending"
    assert store.conn.execute("SELECT status, number FROM call_requests").fetchone() == ("pending", "+358401234567")
    assert _events(store, "call_request") == [{"notification_id": "n", "status": "pending", "contact_id": "c"}]


def test_missing_template_param_refuses_the_downlink_with_an_error_event(store: Store) -> None:
    applier = DownlinkApplier(store, Topics("lab/v1", "s1"), SETTINGS, 65536)
    with store.transaction():
        apply_contact(store, contact("c", 1), "FI")
    env = make(
        "notifications",
        "s1",
        1,
        {
            "notification_id": "n",
            "contact_id": "c",
            "channel": "sms",
            "template": "appointment_confirmed",
            "params": {"date": "1.12."},
        },
    )
    result = applier.apply_batch([Incoming("lab/v1/s1/down/notifications", encode(env), 1, 1, 1)])
    assert result.outcomes == ["refused"]
    (error,) = _events(store, "error")
    assert error["id"] == env["id"] and "time" in error["reason"]
    assert store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0] == 0
    # Redelivered: no second error event.
    applier.apply_batch([Incoming("lab/v1/s1/down/notifications", encode(env), 2, 1, 1)])
    assert len(_events(store, "error")) == 1


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["en", "fi", "sv", "zh", "zh-Hans", "de"])
def test_every_template_renders_in_every_language(name: str, language: str) -> None:
    params = {"date": "1.12.2026", "time": "9:30", "message": "Drink water", "sms_sent": 3, "calls": 4, "complaints": 0}
    text = render(name, language, params, lab="Lab 3")
    assert "Lab 3" in text and "{" not in text


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
@settings(max_examples=200, deadline=None)
def test_release_time_is_never_inside_quiet_hours_nor_before_the_moment(moment: datetime) -> None:
    released = release_time(moment, "21:00-08:00", "Europe/Helsinki")
    assert released >= moment
    assert release_time(released, "21:00-08:00", "Europe/Helsinki") == released


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_decode_never_raises_anything_but_envelope_error(payload: bytes) -> None:
    with pytest.raises((EnvelopeError, ValidationError)):
        env = decode(payload, direction="down", expect_site="s1", lenient_seq=True)
        raise EnvelopeError(f"accepted {env}")  # random bytes are never a valid envelope


def test_a_contact_with_a_phone_that_is_no_number_is_refused_whole(store: Store) -> None:
    applier = DownlinkApplier(store, Topics("lab/v1", "s1"), SETTINGS, 65536)
    env = make("contacts", "s1", 1, contact("c", 1, phones=["+358401234567", "call me maybe"]))
    result = applier.apply_batch([Incoming("lab/v1/s1/down/contacts", encode(env), 1, 1, 1)])
    assert result.outcomes == ["refused"]
    (error,) = _events(store, "error")
    assert error["id"] == env["id"] and "call me maybe" in error["reason"]
    assert store.conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0


def test_a_bare_number_is_used_as_given_and_an_expired_request_is_refused(store: Store) -> None:
    out = _accept(store, {"notification_id": "n1", "number": "040 765 4321", "channel": "sms", "text": "Hello"})
    assert out.status == "queued"
    assert store.conn.execute("SELECT number FROM sms_messages").fetchone() == ("+358407654321",)
    late = {
        "notification_id": "n2",
        "number": "0407654321",
        "channel": "sms",
        "text": "x",
        "expires_at": "2026-11-22T09:00:00Z",
    }
    assert _accept(store, late).reason == "expired"
    assert _events(store, "sms_status")[-1] == {"notification_id": "n2", "status": "failed", "reason": "expired"}


def test_not_before_and_expires_at_are_carried_to_the_outbox(store: Store) -> None:
    data = {
        "notification_id": "n",
        "number": "0401111111",
        "channel": "sms",
        "text": "x",
        "not_before": "2026-11-23T12:00:00+02:00",
        "expires_at": "2026-11-24T00:00:00Z",
    }
    _accept(store, data)
    row = store.conn.execute("SELECT not_before, expires_at FROM sms_messages").fetchone()
    assert row == ("2026-11-23T10:00:00.000Z", "2026-11-24T00:00:00.000Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"datetime": "2026-12-01T09:30:00+02:00"}, "2026-12-01 klo 09:30"),
        ({"date": "2026-12-01T09:30"}, "2026-12-01 klo 09:30"),
        ({"when": "2026-12-01 09:30"}, "2026-12-01 klo 09:30"),
        ({}, "aikasi on vahvistettu"),
        ({"name": "Anna"}, "aikasi on vahvistettu"),
    ],
)
def test_appointment_params_under_other_names_or_absent(params: dict[str, str], expected: str) -> None:
    """A central that does not know our parameter names still gets a meaningful SMS out."""
    text = render("appointment_confirmed", "fi", params, lab="Lab 3")
    assert expected in text and "{" not in text


def test_education_text_under_another_name() -> None:
    assert render("education", "en", {"text": "Drink water"}, lab="Lab 3") == "Lab 3: Drink water"
    with pytest.raises(ValidationError, match="message"):
        render("education", "en", {}, lab="Lab 3")
