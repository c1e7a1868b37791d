"""The table of downlink envelope ids already handled, so a redelivery changes nothing.

Bounded: rows older than :data:`KEEP_DAYS` go, and never more than :data:`MAX_ROWS`
stay (the oldest go first). A redelivery older than that is far beyond any
broker's retry horizon. Runs on the store thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from appliance.timefmt import format_utc, utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

KEEP_DAYS = 30
MAX_ROWS = 200_000
PRUNE_BATCH = 10_000


def seen(store: Store, envelope_id: str) -> str | None:
    """The recorded outcome of ``envelope_id``, or None if it is new."""
    row = store.conn.execute(
        "SELECT outcome FROM sync_downlink_ids WHERE id = ?", (envelope_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def record(store: Store, envelope_id: str, stream: str, seq: int | None, outcome: str) -> None:
    store.conn.execute(
        "INSERT INTO sync_downlink_ids(id, stream, seq, outcome, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO NOTHING",
        (envelope_id, stream, seq, outcome, utcnow()),
    )


def prune(store: Store, keep_days: int = KEEP_DAYS, max_rows: int = MAX_ROWS) -> int:
    """Forget ids older than ``keep_days`` and beyond ``max_rows``; return how many went."""
    cutoff = format_utc(datetime.now(UTC) - timedelta(days=keep_days))
    removed = 0
    with store.transaction():
        conn = store.conn
        removed += conn.execute(
            "DELETE FROM sync_downlink_ids WHERE rowid IN (SELECT rowid FROM sync_downlink_ids "
            "WHERE received_at < ? LIMIT ?)",
            (cutoff, PRUNE_BATCH),
        ).rowcount
        (count,) = conn.execute("SELECT COUNT(*) FROM sync_downlink_ids").fetchone()
        if count > max_rows:
            removed += conn.execute(
                "DELETE FROM sync_downlink_ids WHERE rowid IN (SELECT rowid FROM sync_downlink_ids "
                "ORDER BY received_at LIMIT ?)",
                (count - max_rows,),
            ).rowcount
    return removed
