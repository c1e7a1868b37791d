"""The store side of receiving: de-duplicate parts, reassemble multipart messages, notify.

``InboxReceiver.store_part`` commits one received part durably (the caller
deletes it from the SIM only after that returns); duplicates (same sender,
service-centre time stamp, concatenation reference, sequence and text hash)
are recognised and ignored. When every part of a message is in, the message is
written to ``sms_messages`` (box ``inbox``, status ``received``) with its
``sms_in`` event. Parts that wait longer than the multipart timeout, or beyond
the bound on waiting parts, are written as an *incomplete* message.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.phone import mask, to_e164
from appliance.sms.pdu import SmsDeliver
from appliance.sms.sender import rfc3339
from appliance.store.db import utcnow
from appliance.store.outbox import EventOutbox

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

MULTIPART_TIMEOUT = timedelta(hours=1)  # parts of one message arrive within minutes; 1 h is generous
MAX_WAITING_PARTS = 500  # parts waiting for their siblings; beyond, the oldest messages are flushed
DEDUPE_KEEP = timedelta(days=7)  # received parts remembered for de-duplication
PRUNE_BATCH = 1000
MISSING_PART = "[…]"  # stands for a part that never arrived, in an incomplete message

IN_EVENT_STREAM = "sms_in"
WAKEUP_SMS_IN = "sms_in"  # appliance/inbound routes the message (opt-out, complaint, survey, ...)


@dataclass(frozen=True)
class StoredResult:
    duplicate: bool
    message_id: int | None  # set when this part completed a message


class InboxReceiver:
    """Inbound SMS over the store."""

    def __init__(
        self,
        store: Store,
        country: str = "FI",
        *,
        multipart_timeout: timedelta = MULTIPART_TIMEOUT,
        max_waiting: int = MAX_WAITING_PARTS,
    ) -> None:
        self.store = store
        self.country = country
        self.multipart_timeout = multipart_timeout
        self.max_waiting = max_waiting
        self.events = EventOutbox(store)

    def sender_number(self, msg: SmsDeliver) -> str:
        if msg.sender_type == "alphanumeric":
            return msg.sender
        try:
            return to_e164(msg.sender, self.country)
        except ValidationError:
            return msg.sender

    def store_part(self, msg: SmsDeliver) -> StoredResult:
        """Commit one received part durably; reassemble when it completes its message."""
        number = self.sender_number(msg)
        concat = msg.concat
        ref, total, seq = (concat.ref, concat.total, concat.seq) if concat else (-1, 1, 1)
        if concat and concat.bits == 16:
            ref |= 0x10000  # keep 8- and 16-bit references apart
        smsc_time = msg.timestamp.isoformat()
        text_hash = hashlib.sha256(msg.text.encode("utf-8")).hexdigest()[:32]
        now = utcnow()
        conn = self.store.conn
        with self.store.transaction(durable=True):
            cur = conn.execute(
                "INSERT INTO sms_in_parts(sender, smsc_time, concat_ref, concat_total, concat_seq, "
                "text_hash, text, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (number, smsc_time, ref, total, seq, text_hash, msg.text, now),
            )
            if cur.rowcount == 0:
                log.info("duplicate SMS part from %s ignored", mask(number))
                return StoredResult(True, None)
            message_id = self._try_complete(number, ref, total)
            self._enforce_bound()
        return StoredResult(False, message_id)

    def store_undecodable(self, pdu: str, error: str) -> int:
        """A PDU that cannot be decoded: kept (as an incomplete message) so the SIM can be freed."""
        with self.store.transaction(durable=True):
            return self._write_message("unknown", f"(undecodable PDU: {error}) {pdu[:400]}", 1, True, None)

    def _try_complete(self, number: str, ref: int, total: int) -> int | None:
        conn = self.store.conn
        rows = conn.execute(
            "SELECT id, concat_seq, text, smsc_time FROM sms_in_parts WHERE message_id IS NULL "
            "AND sender = ? AND concat_ref = ? AND concat_total = ? ORDER BY concat_seq, id",
            (number, ref, total),
        ).fetchall()
        by_seq: dict[int, tuple[int, str, str]] = {}
        for pid, seq, text, smsc_time in rows:
            by_seq.setdefault(seq, (pid, text, smsc_time))
        if set(by_seq) != set(range(1, total + 1)):
            return None
        return self._assemble(number, total, by_seq, incomplete=False)

    def _assemble(self, number: str, total: int, by_seq: dict[int, tuple[int, str, str]], *, incomplete: bool) -> int:
        text = "".join(by_seq[s][1] if s in by_seq else MISSING_PART for s in range(1, total + 1))
        first = by_seq[min(by_seq)]
        message_id = self._write_message(number, text, total, incomplete, first[2])
        self.store.conn.executemany(
            "UPDATE sms_in_parts SET message_id = ? WHERE id = ?",
            [(message_id, pid) for pid, _, _ in by_seq.values()],
        )
        return message_id

    def _write_message(self, number: str, text: str, parts: int, incomplete: bool, smsc_time: str | None) -> int:
        now = utcnow()
        cur = self.store.conn.execute(
            "INSERT INTO sms_messages(box, number, text, status, parts, incomplete, smsc_time, "
            "created_at, updated_at) VALUES ('inbox', ?, ?, 'received', ?, ?, ?, ?, ?)",
            (number, text, parts, int(incomplete), smsc_time, now, now),
        )
        message_id = int(cur.lastrowid or 0)
        data: dict[str, Any] = {
            "message_id": message_id,
            "number": number,
            "text": text,
            "received_at": now,
            "parts": parts,
            "incomplete": incomplete,
        }
        self.events.append(IN_EVENT_STREAM, data)
        self.store.signal_after_commit(WAKEUP_SMS_IN)  # the inbound router looks at once
        log.info(
            "SMS %d received from %s (%d part(s)%s)",
            message_id,
            mask(number),
            parts,
            ", incomplete" if incomplete else "",
        )
        return message_id

    def flush_stale(self, now: datetime | None = None) -> list[int]:
        """Messages whose parts waited longer than the timeout are written as incomplete."""
        cutoff = rfc3339((now or datetime.now(UTC)) - self.multipart_timeout)
        conn = self.store.conn
        flushed: list[int] = []
        with self.store.transaction(durable=True):
            groups = conn.execute(
                "SELECT sender, concat_ref, concat_total FROM sms_in_parts WHERE message_id IS NULL "
                "GROUP BY sender, concat_ref, concat_total HAVING MIN(received_at) <= ?",
                (cutoff,),
            ).fetchall()
            for sender, ref, total in groups:
                flushed.append(self._flush_group(sender, ref, total))
        return flushed

    def _flush_group(self, sender: str, ref: int, total: int) -> int:
        rows = self.store.conn.execute(
            "SELECT id, concat_seq, text, smsc_time FROM sms_in_parts WHERE message_id IS NULL "
            "AND sender = ? AND concat_ref = ? AND concat_total = ? ORDER BY concat_seq, id",
            (sender, ref, total),
        ).fetchall()
        by_seq: dict[int, tuple[int, str, str]] = {}
        for pid, seq, text, smsc_time in rows:
            by_seq.setdefault(seq, (pid, text, smsc_time))
        duplicates = [pid for pid, seq, _, _ in rows if by_seq[seq][0] != pid]
        message_id = self._assemble(sender, total, by_seq, incomplete=len(by_seq) < total)
        if duplicates:
            self.store.conn.executemany(
                "UPDATE sms_in_parts SET message_id = ? WHERE id = ?", [(message_id, d) for d in duplicates]
            )
        return message_id

    def _enforce_bound(self) -> None:
        conn = self.store.conn
        (waiting,) = conn.execute("SELECT COUNT(*) FROM sms_in_parts WHERE message_id IS NULL").fetchone()
        while waiting > self.max_waiting:
            oldest = conn.execute(
                "SELECT sender, concat_ref, concat_total FROM sms_in_parts WHERE message_id IS NULL "
                "ORDER BY received_at, id LIMIT 1"
            ).fetchone()
            log.warning(
                "%d SMS parts wait for their siblings (bound %d): flushing the oldest message",
                waiting,
                self.max_waiting,
            )
            self._flush_group(*oldest)
            (waiting,) = conn.execute("SELECT COUNT(*) FROM sms_in_parts WHERE message_id IS NULL").fetchone()

    def waiting_parts(self) -> int:
        return int(self.store.conn.execute("SELECT COUNT(*) FROM sms_in_parts WHERE message_id IS NULL").fetchone()[0])

    def prune(self, now: datetime | None = None) -> int:
        """Forget assembled parts older than the de-duplication window."""
        cutoff = rfc3339((now or datetime.now(UTC)) - DEDUPE_KEEP)
        with self.store.transaction():
            cur = self.store.conn.execute(
                "DELETE FROM sms_in_parts WHERE id IN (SELECT id FROM sms_in_parts "
                "WHERE message_id IS NOT NULL AND received_at < ? LIMIT ?)",
                (cutoff, PRUNE_BATCH),
            )
        return cur.rowcount
