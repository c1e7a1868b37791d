"""The durable event outbox: uplink events written with the change they report.

Usage, inside the same transaction as the business change::

    with store.transaction():
        store.db["sms_messages"].update(message_id, {"status": "sent"})
        EventOutbox(store).append("sms_status", {"message_id": message_id, "status": "sent"})

Each stream numbers its events 1, 2, 3, ... with no gaps. An event stays until
the central system's ``ack`` watermark for its stream covers its seq; the MQTT
relay reads :meth:`EventOutbox.unacked` and calls :meth:`EventOutbox.acknowledge`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

STREAM_NAME_MAX = 64
WAKEUP_EVENTS = "events"  # raised after a commit that appended events


@dataclass(frozen=True)
class Event:
    """One uplink event as stored: the envelope's id, stream (type), seq, ts and data."""

    n: int
    id: str
    stream: str
    seq: int
    ts: str
    data: dict[str, Any]

    def envelope(self, site: str) -> dict[str, Any]:
        """The INTERFACES.md §3 envelope for this event."""
        return {
            "v": 1,
            "id": self.id,
            "type": self.stream,
            "site": site,
            "seq": self.seq,
            "ts": self.ts,
            "data": self.data,
        }


class EventOutbox:
    """Append, read and acknowledge uplink events in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, stream: str, data: dict[str, Any]) -> Event:
        """Add an event to ``stream``; call inside the transaction of the change it reports."""
        if not stream or len(stream) > STREAM_NAME_MAX or not stream.replace("_", "").isalnum():
            raise ValueError(f"bad event stream name {stream!r}")
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        conn = self.store.conn
        with self.store.transaction():
            conn.execute(
                "INSERT INTO event_streams(stream) VALUES (?) ON CONFLICT(stream) DO NOTHING", (stream,)
            )
            (seq,) = conn.execute(
                "UPDATE event_streams SET last_seq = last_seq + 1 WHERE stream = ? RETURNING last_seq",
                (stream,),
            ).fetchone()
            event_id = str(uuid.uuid4())
            ts = utcnow()
            cur = conn.execute(
                "INSERT INTO events(id, stream, seq, ts, data) VALUES (?, ?, ?, ?, ?)",
                (event_id, stream, seq, ts, payload),
            )
            self.store.signal_after_commit(WAKEUP_EVENTS)
        return Event(int(cur.lastrowid or 0), event_id, stream, int(seq), ts, data)

    def unacked(self, after_n: int = 0, limit: int = 1000) -> list[Event]:
        """Unacknowledged events in creation order, starting after global position ``after_n``."""
        rows = self.store.conn.execute(
            "SELECT n, id, stream, seq, ts, data FROM events "
            "WHERE acked_at IS NULL AND n > ? ORDER BY n LIMIT ?",
            (after_n, limit),
        ).fetchall()
        return [Event(n, i, s, q, t, json.loads(d)) for n, i, s, q, t, d in rows]

    def iter_unacked(self, batch: int = 1000) -> Iterator[Event]:
        last = 0
        while True:
            events = self.unacked(last, batch)
            if not events:
                return
            yield from events
            last = events[-1].n

    def acknowledge(self, stream: str, seq: int) -> int:
        """Mark every event of ``stream`` up to ``seq`` acknowledged; return how many changed."""
        conn = self.store.conn
        with self.store.transaction(durable=False):
            # Only the seqs above the previous watermark: the rows below it are acknowledged
            # already, and walking them again would grow with the history.
            cur = conn.execute(
                "UPDATE events SET acked_at = ? WHERE stream = ? AND seq <= ? AND acked_at IS NULL "
                "AND seq > (SELECT acked_seq FROM event_streams WHERE stream = ?)",
                (utcnow(), stream, seq, stream),
            )
            conn.execute(
                "UPDATE event_streams SET acked_seq = MAX(acked_seq, MIN(?, last_seq)) WHERE stream = ?",
                (seq, stream),
            )
        return cur.rowcount

    def backlog(self) -> dict[str, Any]:
        """Count and age of what waits for the central system."""
        row = self.store.conn.execute(
            "SELECT COUNT(*), MIN(ts) FROM events WHERE acked_at IS NULL"
        ).fetchone()
        return {"unacked": int(row[0]), "oldest_unacked": row[1]}

    def prune_acked(self, older_than: str, limit: int = 10000) -> int:
        """Delete acknowledged events acknowledged before ``older_than`` (RFC 3339)."""
        with self.store.transaction():
            cur = self.store.conn.execute(
                "DELETE FROM events WHERE n IN (SELECT n FROM events "
                "WHERE acked_at IS NOT NULL AND acked_at < ? LIMIT ?)",
                (older_than, limit),
            )
        return cur.rowcount
