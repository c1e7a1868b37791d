"""The store side of sending: claim due messages, record each step, match delivery reports.

Every method is a synchronous unit of work on the store (the daemon calls them
through ``store.run``). Every status change writes its ``sms_status`` event in
the same transaction. Crash safety: :meth:`OutboxSender.mark_sending` commits
durably *before* the first PDU goes to the modem, and at start
:meth:`OutboxSender.recover_in_doubt` turns each ``sending`` row whose outcome
is not known into ``unknown`` (for a human to check), never dropping it and
never sending it again on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from appliance.phone import mask
from appliance.sms.outbox import status_event
from appliance.store.db import utcnow
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

CLAIM_BATCH = 16  # rows read per claim: memory stays flat whatever the queue length
EXPIRE_BATCH = 500  # queued rows expired per call
MAX_ATTEMPTS = 5  # tries for temporary failures before the message fails
# Back-off after a temporary failure: 30 s, 2 min, 8 min, 32 min... (capped at 1 h). Network
# congestion and "SC busy" pass in minutes; smstools3 blocks a failing modem for an hour.
RETRY_BASE_S = 30.0
RETRY_FACTOR = 4.0
RETRY_MAX_S = 3600.0
REPORT_CANDIDATES = 20  # parts with the same reference considered for one report
REPORT_MAX_AGE = timedelta(days=7)  # a report for a send older than this matches nothing
NUMBER_MATCH_DIGITS = 6  # report recipients come as +358..., 358... or 040...: the shortest kept

STATUS_EVENT_STREAM = "sms_status"


@dataclass(frozen=True)
class DueMessage:
    id: int
    number: str
    text: str
    notification_id: str | None
    attempts: int
    expires_at: str | None
    concat_ref: int | None
    sent_parts: frozenset[int]  # parts the modem already accepted (a retry sends the others)


@dataclass(frozen=True)
class ReportMatch:
    message_id: int
    part: int
    message_status: str | None  # the message's new status, when it changed


def retry_delay(attempts: int) -> float:
    return min(RETRY_MAX_S, RETRY_BASE_S * RETRY_FACTOR ** max(0, attempts - 1))


rfc3339 = format_utc  # kept for callers of the old name


class OutboxSender:
    """Outbound SMS state machine over the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = EventOutbox(store)

    # -- status changes --------------------------------------------------------

    def _set_status(self, message_id: int, status: str, *, error: str | None = None, **columns: Any) -> None:
        conn = self.store.conn
        row = conn.execute("SELECT notification_id, parts FROM sms_messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return
        sets = ["status = ?", "updated_at = ?"]
        values: list[Any] = [status, utcnow()]
        if error is not None:
            sets.append("last_error = ?")
            values.append(error)
        for name, value in columns.items():
            sets.append(f"{name} = ?")
            values.append(value)
        conn.execute(f"UPDATE sms_messages SET {', '.join(sets)} WHERE id = ?", (*values, message_id))
        parts = columns.get("parts", row[1])
        self.events.append(STATUS_EVENT_STREAM, status_event(message_id, status, row[0], parts=parts, error=error))

    # -- start-up ----------------------------------------------------------------

    def recover_in_doubt(self) -> list[int]:
        """At daemon start: each ``sending`` row becomes ``sent`` (all parts have a reference)
        or ``unknown`` (the modem may or may not have sent it). Returns the unknown ids."""
        unknown: list[int] = []
        conn = self.store.conn
        with self.store.transaction(durable=True):
            rows = conn.execute(
                "SELECT id, parts FROM sms_messages WHERE box = 'outbox' AND status = 'sending'"
            ).fetchall()
            for message_id, parts in rows:
                (accepted,) = conn.execute(
                    "SELECT COUNT(*) FROM sms_parts WHERE message_id = ? AND reference IS NOT NULL",
                    (message_id,),
                ).fetchone()
                if accepted >= parts:
                    self._set_status(message_id, "sent", sent_at=utcnow())
                else:
                    unknown.append(message_id)
                    self._set_status(
                        message_id,
                        "unknown",
                        error=f"the daemon stopped while sending ({accepted} of {parts} parts "
                        "confirmed); the modem may or may not have sent it",
                    )
        if unknown:
            log.warning("%d message(s) in doubt after a restart, marked unknown: %s", len(unknown), unknown)
        return unknown

    # -- claiming ----------------------------------------------------------------

    def claim_due(self, now: str | None = None, limit: int = CLAIM_BATCH, after_id: int = 0) -> list[DueMessage]:
        """Up to ``limit`` queued messages that may go now (not_before and back-off passed)."""
        now = now or utcnow()
        conn = self.store.conn
        rows = conn.execute(
            "SELECT id, number, text, notification_id, attempts, expires_at, concat_ref "
            "FROM sms_messages INDEXED BY sms_queue WHERE box = 'outbox' AND status = 'queued' AND id > ? "
            "AND (not_before IS NULL OR not_before <= ?) "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
            (after_id, now, now, limit),
        ).fetchall()
        due: list[DueMessage] = []
        for mid, number, text, nid, attempts, expires_at, concat_ref in rows:
            sent = (
                frozenset(
                    r[0]
                    for r in conn.execute(
                        "SELECT part FROM sms_parts WHERE message_id = ? AND reference IS NOT NULL", (mid,)
                    )
                )
                if attempts
                else frozenset()
            )
            due.append(DueMessage(mid, number, text, nid, attempts, expires_at, concat_ref, sent))
        return due

    def expire_due(self, now: str | None = None, limit: int = EXPIRE_BATCH) -> int:
        """Queued messages past ``expires_at`` become ``expired``."""
        now = now or utcnow()
        conn = self.store.conn
        with self.store.transaction():
            rows = conn.execute(
                "SELECT id FROM sms_messages INDEXED BY sms_expiry WHERE box = 'outbox' AND status = 'queued' "
                "AND expires_at IS NOT NULL AND expires_at <= ? LIMIT ?",
                (now, limit),
            ).fetchall()
            for (message_id,) in rows:
                self._set_status(message_id, "expired", error="expired before it could be sent")
        return len(rows)

    def counts(self) -> dict[str, int]:
        """Outbox messages by status, for health (queued, sending, unknown, ...)."""
        rows = self.store.conn.execute(
            "SELECT status, COUNT(*) FROM sms_messages INDEXED BY sms_queue WHERE box = 'outbox' "
            "AND status IN ('queued', 'sending', 'unknown') GROUP BY status"
        ).fetchall()
        return {status: int(n) for status, n in rows}

    # -- one send -------------------------------------------------------------------

    def mark_sending(self, message_id: int, parts: int, concat_ref: int | None) -> bool:
        """Durably mark the message ``sending`` before its PDU goes out. False: not queued now."""
        conn = self.store.conn
        with self.store.transaction(durable=True):
            row = conn.execute(
                "SELECT status FROM sms_messages WHERE id = ? AND box = 'outbox'", (message_id,)
            ).fetchone()
            if row is None or row[0] != "queued":
                return False
            self._set_status(
                message_id,
                "sending",
                parts=parts,
                concat_ref=concat_ref,
                attempts=conn.execute("SELECT attempts + 1 FROM sms_messages WHERE id = ?", (message_id,)).fetchone()[
                    0
                ],
            )
            conn.executemany(
                "INSERT INTO sms_parts(message_id, part) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(message_id, part) for part in range(1, parts + 1)],
            )
        return True

    def part_sent(self, message_id: int, part: int, reference: int) -> None:
        """The modem accepted one part (``+CMGS: <reference>``)."""
        with self.store.transaction():
            self.store.conn.execute(
                "UPDATE sms_parts SET reference = ?, status = 'sent', sent_at = ? WHERE message_id = ? AND part = ?",
                (reference, utcnow(), message_id, part),
            )

    def message_sent(self, message_id: int) -> None:
        with self.store.transaction():
            self._set_status(message_id, "sent", sent_at=utcnow(), last_error=None)

    def send_failed(
        self, message_id: int, error: str, *, temporary: bool, attempts: int, max_attempts: int = MAX_ATTEMPTS
    ) -> str:
        """A part was refused: retry later (``queued``) or give up (``failed``). Returns the status."""
        with self.store.transaction():
            if temporary and attempts < max_attempts:
                retry_at = rfc3339(datetime.now(UTC) + timedelta(seconds=retry_delay(attempts)))
                self._set_status(message_id, "queued", error=error, next_attempt_at=retry_at)
                return "queued"
            self._set_status(message_id, "failed", error=error)
            return "failed"

    def not_sent(self, message_id: int, error: str) -> None:
        """The PDU never reached the modem (no prompt): back to the queue, no attempt counted."""
        with self.store.transaction():
            self._set_status(
                message_id,
                "queued",
                error=error,
                attempts=self.store.conn.execute(
                    "SELECT MAX(attempts - 1, 0) FROM sms_messages WHERE id = ?", (message_id,)
                ).fetchone()[0],
            )

    def in_doubt(self, message_id: int, error: str) -> None:
        """The PDU went out but no answer came: ``unknown``, for a human to check."""
        with self.store.transaction(durable=True):
            self._set_status(message_id, "unknown", error=error)

    def late_answer(self, message_id: int, part: int, *, reference: int | None, error: str | None) -> str | None:
        """The late answer to the send that left ``message_id`` ``unknown`` (``+CMGS: <mr>``
        after its timeout, or a late ``+CMS ERROR``). Returns the new status, None when the
        message is no longer ``unknown`` (retried or settled meanwhile: nothing changes).

        Accepted: the part gets its reference (so its status report matches) and the message
        becomes ``sent``; when parts after it were never tried, it goes back to ``queued`` and
        only those are sent (same concatenation reference). Refused: ``failed``."""
        conn = self.store.conn
        with self.store.transaction(durable=True):
            row = conn.execute(
                "SELECT status, parts FROM sms_messages WHERE id = ? AND box = 'outbox'", (message_id,)
            ).fetchone()
            if row is None or row[0] != "unknown":
                log.warning(
                    "late answer for SMS %d part %d ignored: the message is %s now, not unknown",
                    message_id, part, row[0] if row else "gone",
                )
                return None
            if reference is None:
                self._set_status(message_id, "failed", error=f"late answer after the timeout: {error}")
                return "failed"
            conn.execute(
                "UPDATE sms_parts SET reference = ?, status = 'sent', sent_at = ? WHERE message_id = ? AND part = ?",
                (reference & 0xFF, utcnow(), message_id, part),
            )
            (accepted,) = conn.execute(
                "SELECT COUNT(*) FROM sms_parts WHERE message_id = ? AND reference IS NOT NULL", (message_id,)
            ).fetchone()
            if accepted >= row[1]:
                self._set_status(message_id, "sent", sent_at=utcnow(), last_error=None)
                return "sent"
            self._set_status(
                message_id, "queued", next_attempt_at=None,
                error=f"part {part} accepted late (ref {reference}); {row[1] - accepted} part(s) still to send",
            )
            return "queued"

    def expire(self, message_id: int) -> None:
        with self.store.transaction():
            self._set_status(message_id, "expired", error="expired before it could be sent")

    def fail(self, message_id: int, error: str) -> None:
        with self.store.transaction():
            self._set_status(message_id, "failed", error=error)

    # -- delivery reports ---------------------------------------------------------------

    def apply_report(
        self, reference: int, recipient: str, outcome: str, status: int, when: str | None = None
    ) -> ReportMatch | None:
        """Match a delivery report to the most recent part sent with ``reference`` to
        ``recipient``; update the part and, when all parts are in, the message."""
        conn = self.store.conn
        oldest = rfc3339(datetime.now(UTC) - REPORT_MAX_AGE)
        with self.store.transaction():
            candidates = conn.execute(
                "SELECT p.message_id, p.part, m.number, p.status FROM sms_parts p "
                "JOIN sms_messages m ON m.id = p.message_id "
                "WHERE p.reference = ? AND p.sent_at >= ? ORDER BY p.sent_at DESC LIMIT ?",
                (reference & 0xFF, oldest, REPORT_CANDIDATES),
            ).fetchall()
            for message_id, part, number, part_status in candidates:
                if not same_number(number, recipient):
                    continue
                if part_status in ("delivered", "failed"):
                    return ReportMatch(message_id, part, None)  # a repeated report
                new_part = {"delivered": "delivered", "failed": "failed"}.get(outcome, "pending")
                conn.execute(
                    "UPDATE sms_parts SET status = ?, report_at = ?, report_status = ? "
                    "WHERE message_id = ? AND part = ?",
                    (new_part, when or utcnow(), status, message_id, part),
                )
                return ReportMatch(message_id, part, self._settle(message_id, status))
            found = self._report_for_unknown(reference, recipient, outcome, status, when, oldest)
            if found is not None:
                return found
        log.info("delivery report ref %d for %s matches no sent part", reference, mask(recipient))
        return None

    def _report_for_unknown(
        self, reference: int, recipient: str, outcome: str, status: int, when: str | None, oldest: str
    ) -> ReportMatch | None:
        """A report whose reference matches no recorded part may be for a send left ``unknown``
        (its ``+CMGS`` never came, or came after a restart): when exactly one part of one
        unknown message to that recipient has no reference, it is that one. Never a guess
        between two."""
        rows = self.store.conn.execute(
            "SELECT m.id, m.number, p.part FROM sms_messages m INDEXED BY sms_queue "
            "JOIN sms_parts p ON p.message_id = m.id "
            "WHERE m.box = 'outbox' AND m.status = 'unknown' AND m.updated_at >= ? AND p.reference IS NULL "
            "ORDER BY m.id DESC LIMIT ?",
            (oldest, REPORT_CANDIDATES),
        ).fetchall()
        matches = [(mid, part) for mid, number, part in rows if same_number(number, recipient)]
        if len(matches) != 1:
            if matches:
                log.warning(
                    "delivery report ref %d for %s could be for %d parts of unknown messages; none chosen",
                    reference, mask(recipient), len(matches),
                )
            return None
        message_id, part = matches[0]
        new_part = {"delivered": "delivered", "failed": "failed"}.get(outcome, "sent")
        self.store.conn.execute(
            "UPDATE sms_parts SET reference = ?, status = ?, report_at = ?, report_status = ? "
            "WHERE message_id = ? AND part = ?",
            (reference & 0xFF, new_part, when or utcnow(), status, message_id, part),
        )
        log.warning(
            "delivery report ref %d for %s resolves SMS %d part %d, which was unknown", reference,
            mask(recipient), message_id, part,
        )
        return ReportMatch(message_id, part, self._settle(message_id, status))

    def _settle(self, message_id: int, tp_status: int) -> str | None:
        conn = self.store.conn
        row = conn.execute("SELECT status, parts FROM sms_messages WHERE id = ?", (message_id,)).fetchone()
        if row is None or row[0] not in ("sent", "sending", "unknown"):
            return None
        states = [r[0] for r in conn.execute("SELECT status FROM sms_parts WHERE message_id = ?", (message_id,))]
        if "failed" in states:
            self._set_status(message_id, "failed", error=f"delivery report: TP-ST 0x{tp_status:02X}")
            return "failed"
        # an unknown message all of whose parts are reported delivered was sent after all
        if len(states) >= row[1] and all(s == "delivered" for s in states) and row[0] in ("sent", "unknown"):
            self._set_status(message_id, "delivered", delivered_at=utcnow())
            return "delivered"
        return None


def same_number(stored: str, reported: str) -> bool:
    """Whether two renderings of a number are the same line (``+358401234567`` vs ``0401234567``)."""
    # Without "+", "00" (international prefix) and "0" (trunk prefix) the national significant
    # number is a suffix of the international one: 0401234567 -> 401234567 ends 358401234567.
    a = "".join(ch for ch in stored if ch.isdigit()).lstrip("0")
    b = "".join(ch for ch in reported if ch.isdigit()).lstrip("0")
    if not a or not b:
        return stored == reported
    short, long_ = sorted((a, b), key=len)
    return len(short) >= NUMBER_MATCH_DIGITS and long_.endswith(short)
