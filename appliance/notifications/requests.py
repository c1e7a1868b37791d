"""Notification requests from the central system become queued SMS or pending calls.

Rules, applied in this order (PRODUCT.md §4):

1. Idempotent by ``notification_id``: a request already seen changes nothing.
2. Recipient: ``contact_id`` is looked up in the local contacts; a contact
   younger than ``contacts.guardian_age`` is reached through its
   ``guardian_contact_id`` (the guardian's consent, phone and language apply).
   ``number`` alone (no contact) is used as given: consent is then the
   central's responsibility. ``number`` with ``contact_id`` overrides the phone.
3. Consent: a contact without ``consents.sms`` (``consents.call`` for a call)
   gets nothing; the refusal is reported on ``sms_status`` (``call_request``
   for calls) with ``status: "failed"`` and a ``reason``.
4. Text: ``text`` as given, or ``template`` + ``params`` rendered in the
   recipient's language (fallback English).
5. Timing: ``not_before`` is moved to the end of the quiet hours
   (``notifications.quiet_hours`` in ``site.timezone``) when it falls inside
   them; ``expires_at`` is carried through; an already expired request is
   refused with reason ``expired``.

Runs on the store thread inside the downlink's transaction, so the queued SMS,
its ``sms_status`` event and the downlink-id record commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from appliance.config import Config
from appliance.consent.core import send_block_reason
from appliance.contacts import Contact, get_contact
from appliance.errors import ValidationError
from appliance.notifications.quiet_hours import release_time
from appliance.notifications.templates import language_of, render
from appliance.phone import to_e164
from appliance.sms.outbox import SmsOutbox
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc, parse_time, utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

CALL_STATUS_STREAM = "call_request"
SMS_STATUS_STREAM = "sms_status"


@dataclass(frozen=True)
class NotificationSettings:
    """The configuration the notification rules read."""

    country: str
    timezone: str
    lab_name: str
    quiet_hours: str
    guardian_age: int
    survey_timeout_hours: float = 72.0
    help_text: str = ""

    @classmethod
    def from_config(cls, config: Config) -> NotificationSettings:
        return cls(
            country=config.site.country,
            timezone=config.site.timezone,
            lab_name=config.site.name or config.site.id,
            quiet_hours=config.notifications.quiet_hours,
            guardian_age=config.contacts.guardian_age,
            survey_timeout_hours=config.surveys.session_timeout_hours,
            help_text=config.sms.help_text,
        )


@dataclass(frozen=True)
class Outcome:
    """What became of a request: queued (sms), pending (call), refused, or duplicate."""

    status: str
    reason: str | None = None
    message_id: int | None = None


class Refused(Exception):
    """The request cannot be carried out for the recipient (reported, not an error)."""

    def __init__(self, reason: str, contact_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.contact_id = contact_id


def _recipient(
    store: Store, settings: NotificationSettings, data: dict[str, Any], now: datetime
) -> tuple[str, str, str | None]:
    """(E.164 number, language, contact id reached) for a request, or Refused."""
    channel = data["channel"]
    contact_id = data.get("contact_id")
    language = data.get("language") or ""
    if contact_id is None:
        return to_e164(data["number"], settings.country), language, None
    contact = get_contact(store, contact_id)
    if contact is None:
        raise Refused("unknown_contact", contact_id)
    if contact.deleted:
        raise Refused("contact_deleted", contact_id)
    target: Contact = contact
    age = contact.age_on(now.date())
    if age is not None and age < settings.guardian_age:
        if not contact.guardian_contact_id:
            raise Refused("minor_without_guardian", contact_id)
        guardian = get_contact(store, contact.guardian_contact_id)
        if guardian is None or guardian.deleted:
            raise Refused("unknown_guardian", contact_id)
        target = guardian
    consent = target.consent_sms if channel == "sms" else target.consent_call
    if not consent:
        raise Refused("no_consent" if target is contact else "guardian_no_consent", contact_id)
    if data.get("number"):
        number = to_e164(data["number"], settings.country)
    elif target.phones:
        number = target.phones[0]
    else:
        raise Refused("no_phone", contact_id)
    return number, language or target.language or contact.language, target.contact_id


def _written_in(data: dict[str, Any], language: str) -> str | None:
    """The language the SMS is written in: the template's, or the one the request names."""
    if "template" in data:
        return language_of(language)
    return language or None


def _start_survey(
    store: Store,
    settings: NotificationSettings,
    data: dict[str, Any],
    envelope_id: str,
    number: str,
    language: str,
    not_before: str,
    expires_at: str | None,
) -> Outcome:
    """A notification carrying ``survey_id``: the intro (``text`` or template), then question 1."""
    from appliance.surveys.sms import start_sms_survey  # surveys build on notifications' texts

    intro = _text(settings, data, language) if ("text" in data or "template" in data) else None
    started = start_sms_survey(
        store,
        data["survey_id"],
        number,
        language=language_of(language),
        lab=settings.lab_name,
        contact_id=data.get("contact_id"),
        intro=intro,
        notification_id=data["notification_id"],
        not_before=not_before,
        expires_at=expires_at,
    )
    if started.session is None:
        raise Refused(started.blocked or "refused", data.get("contact_id"))
    row = store.conn.execute(
        "SELECT id FROM sms_messages WHERE notification_id = ?", (data["notification_id"],)
    ).fetchone()
    message_id = int(row[0]) if row else None
    _record(store, data, envelope_id, number, "queued", None, message_id)
    return Outcome("queued", message_id=message_id)


def _text(settings: NotificationSettings, data: dict[str, Any], language: str) -> str:
    if "text" in data:
        return str(data["text"])
    return render(data["template"], language, data.get("params", {}), lab=settings.lab_name)


def _timing(
    settings: NotificationSettings, data: dict[str, Any], now: datetime
) -> tuple[str, str | None]:
    """(not_before, expires_at) as RFC 3339 UTC; ``Refused("expired")`` when already expired."""
    start = parse_time(data["not_before"]) if data.get("not_before") else now
    start = max(start, now)
    due = release_time(start, settings.quiet_hours, settings.timezone)
    expires_at = None
    if data.get("expires_at"):
        expires = parse_time(data["expires_at"])
        if expires <= now:
            raise Refused("expired", data.get("contact_id"))
        expires_at = format_utc(expires)
    return format_utc(due), expires_at


def accept_request(
    store: Store,
    settings: NotificationSettings,
    data: dict[str, Any],
    envelope_id: str,
    now: datetime | None = None,
) -> Outcome:
    """Turn one ``notifications`` downlink into a queued SMS or a pending call (store thread)."""
    now = now or datetime.now(UTC)
    conn = store.conn
    notification_id = data["notification_id"]
    channel = data["channel"]
    known = conn.execute(
        "SELECT status, reason, message_id FROM notification_requests WHERE notification_id = ?",
        (notification_id,),
    ).fetchone()
    if known is not None:
        return Outcome("duplicate", known[1], known[2])
    events = EventOutbox(store)
    stream = SMS_STATUS_STREAM if channel == "sms" else CALL_STATUS_STREAM
    try:
        number, language, _reached = _recipient(store, settings, data, now)
        not_before, expires_at = _timing(settings, data, now)
        blocked = send_block_reason(store, number, "notification") if channel == "sms" else None
        if blocked is not None:
            raise Refused(blocked, data.get("contact_id"))
        if data.get("survey_id") and channel == "sms":
            return _start_survey(store, settings, data, envelope_id, number, language, not_before, expires_at)
    except Refused as refusal:
        report: dict[str, Any] = {
            "notification_id": notification_id,
            "status": "failed",
            "reason": refusal.reason,
        }
        if refusal.contact_id:
            report["contact_id"] = refusal.contact_id
        events.append(stream, report)
        _record(store, data, envelope_id, None, "refused", refusal.reason, None)
        return Outcome("refused", refusal.reason)
    text = _text(settings, data, language)  # ValidationError: the downlink is refused
    if channel == "sms":
        try:
            queued = SmsOutbox(store).enqueue(
                number,
                text,
                notification_id=notification_id,
                contact_id=data.get("contact_id"),
                not_before=not_before,
                expires_at=expires_at,
                language=_written_in(data, language),
                purpose="notification",
                durable=False,  # the downlink batch commits durably
            )
        except ValueError as err:  # text too long for the outbox
            raise ValidationError(str(err)) from None
        _record(store, data, envelope_id, number, "queued", None, queued.message_id)
        return Outcome("queued", message_id=queued.message_id)
    _record(store, data, envelope_id, number, "pending", None, None)
    now_text = utcnow()
    conn.execute(
        "INSERT INTO call_requests(notification_id, contact_id, number, language, text, not_before, "
        "expires_at, status, created_at, updated_at, survey_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        (
            notification_id,
            data.get("contact_id"),
            number,
            language_of(language),
            text,
            not_before,
            expires_at,
            now_text,
            now_text,
            data.get("survey_id"),
        ),
    )
    report = {"notification_id": notification_id, "status": "pending"}
    if data.get("contact_id"):
        report["contact_id"] = data["contact_id"]
    events.append(CALL_STATUS_STREAM, report)
    return Outcome("pending")


def _record(
    store: Store,
    data: dict[str, Any],
    envelope_id: str,
    recipient: str | None,
    status: str,
    reason: str | None,
    message_id: int | None,
) -> None:
    store.conn.execute(
        "INSERT INTO notification_requests(notification_id, channel, contact_id, recipient, status, "
        "reason, message_id, envelope_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            data["notification_id"],
            data["channel"],
            data.get("contact_id"),
            recipient,
            status,
            reason,
            message_id,
            envelope_id,
            utcnow(),
        ),
    )


def pending_calls(store: Store) -> list[dict[str, Any]]:
    """Call requests waiting for the phone-line part, oldest first."""
    rows = store.conn.execute(
        "SELECT notification_id, contact_id, number, language, text, not_before, expires_at, survey_id "
        "FROM call_requests WHERE status = 'pending' ORDER BY created_at"
    ).fetchall()
    keys = (
        "notification_id",
        "contact_id",
        "number",
        "language",
        "text",
        "not_before",
        "expires_at",
        "survey_id",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]
