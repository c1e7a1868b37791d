"""SMS consent by number: opt-out and opt-in, and the one question every sender asks.

``send_block_reason(store, e164, purpose)`` is asked just before queueing any SMS:
``None`` means it may go; otherwise the reason is recorded with the refusal.

- ``opted_out``: the number said STOP (any of the words in ``words.py``) and has not
  said START since. Blocks every purpose; only the one opt-out confirmation goes, and
  it is queued by :func:`set_sms_consent` itself, not through this check.
- ``no_consent``: the number belongs to a contact without SMS consent and the purpose
  is one the lab starts by itself (``campaign``, ``followup``, ``survey``). A
  ``notification`` carries the central's own consent decision (notifications.requests
  checks the contact's consent), and replies to what the person wrote to us
  (``complaint_ack``, ``complaint_outcome``, ``help``) or a technician's ``manual``
  send are not blocked by it.

All functions run on the store thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.contacts.store import find_by_number
from appliance.phone import mask
from appliance.sms.outbox import SmsOutbox, status_event
from appliance.store.outbox import EventOutbox
from appliance.timefmt import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

CONSENT_STREAM = "consent"
PURPOSES = (
    "notification", "campaign", "survey", "followup", "complaint_ack", "complaint_outcome",
    "help", "manual", "summary", "consent",
)
NEEDS_CONTACT_CONSENT = frozenset({"campaign", "followup", "survey"})


def is_opted_out(store: Store, e164: str) -> bool:
    row = store.conn.execute("SELECT opted_out FROM sms_opt_outs WHERE number = ?", (e164,)).fetchone()
    return bool(row and row[0])


def send_block_reason(store: Store, e164: str, purpose: str) -> str | None:
    """``None`` when an SMS may be sent to ``e164`` for ``purpose``, else why not."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown SMS purpose {purpose!r}; known are {', '.join(PURPOSES)}")
    if is_opted_out(store, e164):
        return "opted_out"
    if purpose in NEEDS_CONTACT_CONSENT:
        contact = find_by_number(store, e164)
        if contact is not None and not contact.consent_sms:
            return "no_consent"
    return None


@dataclass(frozen=True)
class Queued:
    """What :func:`queue_sms` did: the message id, or the reason it was not queued."""

    message_id: int | None
    blocked: str | None = None


def queue_sms(
    store: Store,
    number: str,
    text: str,
    *,
    purpose: str,
    language: str | None,
    contact_id: str | None = None,
    notification_id: str | None = None,
    not_before: str | None = None,
    expires_at: str | None = None,
    check: bool = True,
) -> Queued:
    """Queue an SMS after asking :func:`send_block_reason`; a blocked one is logged, not queued.

    ``check=False`` only for the consent confirmation and a technician's explicit override.
    """
    if check:
        reason = send_block_reason(store, number, purpose)
        if reason is not None:
            log.info("%s SMS to %s not sent: %s", purpose, mask(number), reason)
            return Queued(None, reason)
    queued = SmsOutbox(store).enqueue(
        number,
        text,
        notification_id=notification_id,
        contact_id=contact_id,
        not_before=not_before,
        expires_at=expires_at,
        durable=False,
        language=language,
        purpose=purpose,
    )
    return Queued(queued.message_id)


def cancel_queued(store: Store, e164: str, reason: str) -> list[int]:
    """Fail every still-queued outbound message to ``e164`` (an opt-out came in)."""
    conn = store.conn
    rows = conn.execute(
        "SELECT id, notification_id, parts FROM sms_messages WHERE box = 'outbox' AND number = ? "
        "AND status = 'queued'",
        (e164,),
    ).fetchall()
    now = utcnow()
    events = EventOutbox(store)
    for message_id, notification_id, parts in rows:
        conn.execute(
            "UPDATE sms_messages SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            (reason, now, message_id),
        )
        events.append("sms_status", status_event(message_id, "failed", notification_id, parts=parts, reason=reason))
    return [int(r[0]) for r in rows]


def set_sms_consent(
    store: Store,
    e164: str,
    granted: bool,
    *,
    source: str,
    word: str = "",
    message_id: int | None = None,
    confirmation: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """Record an opt-out (``granted=False``) or opt-in for ``e164``, at once.

    In one transaction: the consent row and its history, the ``consent`` uplink event,
    every queued message to the number failed with ``opted_out`` (on opt-out), and the
    one confirmation SMS (``confirmation``, if given). Returns the event's data.
    """
    contact = find_by_number(store, e164)
    now = utcnow()
    with store.transaction():
        store.conn.execute(
            "INSERT INTO sms_opt_outs(number, opted_out, contact_id, word, message_id, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(number) DO UPDATE SET opted_out = excluded.opted_out, "
            "contact_id = excluded.contact_id, word = excluded.word, message_id = excluded.message_id, "
            "changed_at = excluded.changed_at",
            (e164, int(not granted), contact.contact_id if contact else None, word[:40], message_id, now),
        )
        store.conn.execute(
            "INSERT INTO consent_history(number, contact_id, granted, source, word, at) VALUES (?, ?, ?, ?, ?, ?)",
            (e164, contact.contact_id if contact else None, int(granted), source, word[:40] or None, now),
        )
        cancelled = [] if granted else cancel_queued(store, e164, "opted_out")
        data: dict[str, Any] = {
            "number": e164,
            "channel": "sms",
            "granted": granted,
            "source": source,
            "at": now,
        }
        if contact is not None:
            data["contact_id"] = contact.contact_id
        if word:
            data["word"] = word[:40]
        EventOutbox(store).append(CONSENT_STREAM, data)
        if confirmation:
            queue_sms(store, e164, confirmation, purpose="consent", language=language, check=False)
    log.info(
        "SMS consent %s for %s (%s)%s",
        "given" if granted else "withdrawn",
        mask(e164),
        source,
        f"; {len(cancelled)} queued message(s) cancelled" if cancelled else "",
    )
    return data


def opted_out_numbers(store: Store, numbers: list[str]) -> set[str]:
    """Which of ``numbers`` are opted out (for lists)."""
    if not numbers:
        return set()
    marks = ",".join("?" * len(numbers))
    rows = store.conn.execute(
        f"SELECT number FROM sms_opt_outs WHERE opted_out = 1 AND number IN ({marks})", numbers
    ).fetchall()
    return {r[0] for r in rows}
