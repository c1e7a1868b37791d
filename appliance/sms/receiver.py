"""The store side of receiving: de-duplicate parts, reassemble multipart messages, notify.

``InboxReceiver.store_part`` commits one received part durably (the caller
deletes it from the SIM only after that returns); duplicates (same sender,
service-centre time stamp, concatenation reference, sequence and text hash)
are recognised and ignored. When every part of a message is in, the message is
written to ``sms_messages`` (box ``inbox``, status ``received``) with its
``sms_in`` event. Parts that wait longer than the multipart timeout, or beyond
the bound on waiting parts, are written as an *incomplete* message. A part that
arrives after that (within ``LATE_PART_WINDOW``) is added to the stored incomplete
message: its text is rebuilt in order and a second ``sms_in`` event with the same
``message_id`` and ``updated: true`` goes up; the inbound router does not route it
again (``appliance.inbound.router.message_completed`` follows up what was done).
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
# A part that arrives after its message was stored incomplete completes that message. Looked
# for among messages whose parts arrived within this window (networks retry for a day or two
# at most) and among at most this many candidate messages (same sender, reference and total).
LATE_PART_WINDOW = timedelta(days=2)
LATE_PART_CANDIDATES = 8
LATE_PART_SCTS_SPREAD = timedelta(minutes=10)  # service-centre stamps of one message's parts

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
            part_id = int(cur.lastrowid or 0)
            message_id = self._complete_stored(number, ref, total, msg, part_id) if total > 1 else None
            if message_id is None:
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

    def _complete_stored(self, number: str, ref: int, total: int, msg: SmsDeliver, part_id: int) -> int | None:
        """Add a late part to the stored incomplete message it is missing from; None when there is
        none (the part then waits for its siblings as usual, and is stored on its own at worst).

        A candidate has the same sender, reference and total, lacks this sequence number, and its
        parts were stamped by the service centre within ``LATE_PART_SCTS_SPREAD`` of this one: the
        phone sends all parts at once, so a reference reused by a later message does not match."""
        conn = self.store.conn
        since = rfc3339(datetime.now(UTC) - LATE_PART_WINDOW)
        seq = msg.concat.seq if msg.concat else 1
        # The range on smsc_time uses the de-duplication index (sender, smsc_time, ...): only the
        # sender's parts stamped within the spread are read. Stamps are compared as stored text, in
        # this part's UTC offset: a sibling stamped with another offset is not found (the part is
        # then kept on its own, nothing lost).
        lo = (msg.timestamp - LATE_PART_SCTS_SPREAD).isoformat()
        hi = (msg.timestamp + LATE_PART_SCTS_SPREAD).isoformat()
        candidates = conn.execute(
            "SELECT DISTINCT p.message_id FROM sms_in_parts p JOIN sms_messages m ON m.id = p.message_id "
            "WHERE p.sender = ? AND p.smsc_time BETWEEN ? AND ? AND p.message_id IS NOT NULL "
            "AND p.concat_ref = ? AND p.concat_total = ? AND p.received_at >= ? "
            "AND m.box = 'inbox' AND m.incomplete = 1 ORDER BY p.message_id DESC LIMIT ?",
            (number, lo, hi, ref, total, since, LATE_PART_CANDIDATES),
        ).fetchall()
        for (message_id,) in candidates:
            rows = conn.execute(
                "SELECT concat_seq, text FROM sms_in_parts WHERE message_id = ? ORDER BY concat_seq, id",
                (message_id,),
            ).fetchall()
            texts: dict[int, str] = {}
            for sibling_seq, text in rows:
                texts.setdefault(sibling_seq, text)
            if seq in texts:
                continue  # that message has this part already: this one belongs to another
            conn.execute("UPDATE sms_in_parts SET message_id = ? WHERE id = ?", (message_id, part_id))
            texts[seq] = msg.text
            self._update_message(int(message_id), number, total, texts)
            return int(message_id)
        return None

    def _update_message(self, message_id: int, number: str, total: int, texts: dict[int, str]) -> None:
        conn = self.store.conn
        text = "".join(texts.get(s, MISSING_PART) for s in range(1, total + 1))
        incomplete = len(texts) < total
        old_text, received_at = conn.execute(
            "SELECT text, created_at FROM sms_messages WHERE id = ?", (message_id,)
        ).fetchone()
        conn.execute(
            "UPDATE sms_messages SET text = ?, incomplete = ?, updated_at = ? WHERE id = ?",
            (text, int(incomplete), utcnow(), message_id),
        )
        self.events.append(
            IN_EVENT_STREAM,
            {
                "message_id": message_id,
                "number": number,
                "text": text,
                "received_at": received_at,
                "parts": total,
                "incomplete": incomplete,
                "updated": True,  # replaces the earlier sms_in of this message_id
                "parts_received": len(texts),
            },
        )
        log.info(
            "SMS %d from %s: a late part arrived (%d of %d parts now%s)",
            message_id, mask(number), len(texts), total, ", complete" if not incomplete else "",
        )
        from appliance.inbound.router import message_completed  # the router follows up what it did

        message_completed(self.store, message_id, old_text, text)

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

