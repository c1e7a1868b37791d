"""The SMS outbox: queue a message durably; the modem service sends it.

``SmsOutbox.enqueue`` is the one way into the outbox, used by ``appliance sms
send``, by notifications from the central system and by the status page. It is
idempotent by ``notification_id``: the same notification queued twice gives the
same message id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.sms.pdu import split_text
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc, parse_time, utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

SENDING_PAUSED_META = "sms_sending_paused"  # "1": the status page paused all sending
WAKEUP_SMS_OUTBOX = "sms_outbox"  # raised after a commit that queued a message
MAX_TEXT_CHARS = 10 * 153  # 10 concatenated GSM-7 parts; longer texts are refused


@dataclass(frozen=True)
class Enqueued:
    message_id: int
    created: bool  # False: an existing message with the same notification_id


class SmsOutbox:
    """Queue outbound SMS in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = EventOutbox(store)

    def enqueue(
        self,
        number: str,
        text: str,
        *,
        notification_id: str | None = None,
        contact_id: str | None = None,
        not_before: str | None = None,
        expires_at: str | None = None,
        durable: bool = True,
        language: str | None = None,
        purpose: str | None = None,
    ) -> Enqueued:
        """Queue one SMS to ``number`` (E.164). Writes an ``sms_status`` event (``queued``).

        ``language`` is the language the text is written in (kept with the message, never
        changed); ``purpose`` says why it is sent (notification, survey, complaint_ack, ...).
        """
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"SMS text is {len(text)} characters, at most {MAX_TEXT_CHARS} allowed")
        parts = len(split_text(text)[1])  # ValueError for a text no SMS can carry
        not_before = normalise_time(not_before, "not_before")
        expires_at = normalise_time(expires_at, "expires_at")
        conn = self.store.conn
        with self.store.transaction(durable=durable):
            if notification_id is not None:
                row = conn.execute(
                    "SELECT id FROM sms_messages WHERE notification_id = ?", (notification_id,)
                ).fetchone()
                if row:
                    return Enqueued(int(row[0]), created=False)
            now = utcnow()
            cur = conn.execute(
                "INSERT INTO sms_messages(box, number, text, status, parts, notification_id, contact_id, "
                "not_before, expires_at, created_at, updated_at, language, purpose) "
                "VALUES ('outbox', ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, text, parts, notification_id, contact_id, not_before, expires_at, now, now, language,
                 purpose),
            )
            message_id = int(cur.lastrowid or 0)
            self.events.append("sms_status", status_event(message_id, "queued", notification_id, parts=parts))
            self.store.signal_after_commit(WAKEUP_SMS_OUTBOX)
        return Enqueued(message_id, created=True)


def normalise_time(value: str | None, what: str) -> str | None:
    """An RFC 3339 time in the store's form (UTC, milliseconds, ``Z``); no offset is refused (timefmt)."""
    if value is None or value == "":
        return None
    try:
        return format_utc(parse_time(value))
    except ValidationError as err:  # callers catch ValueError for bad input
        raise ValueError(f"{what}: {err}") from None


def status_event(message_id: int, status: str, notification_id: str | None, **extra: Any) -> dict[str, Any]:
    """The ``data`` of an ``sms_status`` uplink event."""
    data: dict[str, Any] = {"message_id": message_id, "status": status}
    if notification_id is not None:
        data["notification_id"] = notification_id
    data.update({k: v for k, v in extra.items() if v is not None})
    return data
