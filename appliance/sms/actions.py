"""Retry or cancel outbound messages by hand (the status page's actions), one or many at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.sms.outbox import WAKEUP_SMS_OUTBOX, status_event
from appliance.store.db import utcnow
from appliance.store.outbox import EventOutbox

if TYPE_CHECKING:
    from appliance.store.db import Store

RETRYABLE = ("unknown", "failed", "expired")
CANCELLABLE = ("queued", "unknown")
MAX_BATCH = 500  # ids in one action


def retry_messages(store: Store, ids: list[int]) -> list[int]:
    """Queue again those of ``ids`` that are in doubt, failed or expired; the ids queued."""
    done: list[int] = []
    with store.transaction(durable=True):
        for message_id in ids[:MAX_BATCH]:
            row = store.conn.execute(
                "SELECT status, notification_id, parts FROM sms_messages WHERE id = ? AND box = 'outbox'",
                (message_id,),
            ).fetchone()
            if row is None or row[0] not in RETRYABLE:
                continue
            store.conn.execute(
                "UPDATE sms_messages SET status = 'queued', attempts = 0, next_attempt_at = NULL, "
                "expires_at = CASE WHEN status = 'expired' THEN NULL ELSE expires_at END, updated_at = ? "
                "WHERE id = ?",
                (utcnow(), message_id),
            )
            EventOutbox(store).append(
                "sms_status", status_event(message_id, "queued", row[1], parts=row[2], retry=True)
            )
            done.append(message_id)
        if done:
            store.signal_after_commit(WAKEUP_SMS_OUTBOX)
    return done


def cancel_messages(store: Store, ids: list[int], who: str) -> list[int]:
    """Give up those of ``ids`` still queued or in doubt (they become failed); the ids cancelled."""
    done: list[int] = []
    with store.transaction(durable=True):
        for message_id in ids[:MAX_BATCH]:
            row = store.conn.execute(
                "SELECT status, notification_id FROM sms_messages WHERE id = ? AND box = 'outbox'", (message_id,)
            ).fetchone()
            if row is None or row[0] not in CANCELLABLE:
                continue
            store.conn.execute(
                "UPDATE sms_messages SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
                (f"cancelled by {who}", utcnow(), message_id),
            )
            EventOutbox(store).append("sms_status", status_event(message_id, "failed", row[1], cancelled=True))
            done.append(message_id)
    return done
