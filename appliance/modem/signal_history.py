"""The modem's signal over time, in the store: 5-minute buckets of its +CSQ readings.

The modem part reads the signal every 30 s; keeping each reading would be 2,880 rows
and as many SD-card writes a day. Instead :class:`SignalBuckets` folds the readings
of a 5-minute bucket in memory (count, unknowns, sum, min, max) and hands over the
bucket when the next one starts; :func:`save_bucket` writes it (one row, merged with
a row already there when the daemon restarted inside the bucket) and prunes what is
older than ``KEEP_DAYS``. A power cut loses at most the bucket in hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.store.db import Store

BUCKET_S = 300
KEEP_DAYS = 30  # 8,640 rows at most
MAX_SIGNAL = 31  # +CSQ RSSI 0-31; 99 (unknown) arrives here as None


@dataclass
class Bucket:
    """The readings of one bucket (``start``: epoch seconds, a multiple of BUCKET_S)."""

    start: int
    samples: int = 0
    unknown: int = 0
    total: int = 0
    low: int | None = None
    high: int | None = None

    def add(self, value: int | None) -> None:
        if value is None or not 0 <= value <= MAX_SIGNAL:
            self.unknown += 1
            return
        self.samples += 1
        self.total += value
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    @property
    def start_iso(self) -> str:
        return datetime.fromtimestamp(self.start, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SignalBuckets:
    """Folds readings into buckets; :meth:`add` returns the bucket that just ended, if one did."""

    def __init__(self) -> None:
        self.current: Bucket | None = None

    def add(self, when: float, value: int | None) -> Bucket | None:
        start = int(when) // BUCKET_S * BUCKET_S
        done = None
        if self.current is not None and self.current.start != start:
            done, self.current = self.current, None  # a clock set back also closes the bucket
        if self.current is None:
            self.current = Bucket(start)
        self.current.add(value)
        return done

    def take(self) -> Bucket | None:
        """The bucket in hand (on stop), and forget it."""
        done, self.current = self.current, None
        return done


def save_bucket(store: Store, bucket: Bucket) -> None:
    """Write one bucket (merged with its row if there is one), and prune old rows."""
    cutoff = (datetime.now(UTC) - timedelta(days=KEEP_DAYS)).isoformat(timespec="seconds").replace("+00:00", "Z")
    with store.transaction():
        store.conn.execute(
            "INSERT INTO signal_history(bucket_start, samples, unknown, sum, min, max) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(bucket_start) DO UPDATE SET samples = samples + excluded.samples, "
            "unknown = unknown + excluded.unknown, sum = sum + excluded.sum, "
            "min = CASE WHEN min IS NULL THEN excluded.min WHEN excluded.min IS NULL THEN min "
            "ELSE MIN(min, excluded.min) END, "
            "max = CASE WHEN max IS NULL THEN excluded.max WHEN excluded.max IS NULL THEN max "
            "ELSE MAX(max, excluded.max) END",
            (bucket.start_iso, bucket.samples, bucket.unknown, bucket.total, bucket.low, bucket.high),
        )
        store.conn.execute("DELETE FROM signal_history WHERE bucket_start < ?", (cutoff,))


def history(store: Store, hours: float = 24.0) -> list[tuple[float, float | None, int | None, int | None]]:
    """(epoch seconds, average or None, min, max) per bucket of the last ``hours``, oldest first.

    A bucket with only unknown readings has average None; a stretch with no bucket at all
    (modem absent, daemon stopped) gets one None point so a chart shows the gap.
    """
    since = (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="seconds").replace("+00:00", "Z")
    rows = store.conn.execute(
        "SELECT bucket_start, samples, sum, min, max FROM signal_history WHERE bucket_start >= ? "
        "ORDER BY bucket_start",
        (since,),
    ).fetchall()
    points: list[tuple[float, float | None, int | None, int | None]] = []
    previous: float | None = None
    for start, samples, total, low, high in rows:
        at = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
        if previous is not None and at - previous > 2 * BUCKET_S:
            points.append((previous + BUCKET_S, None, None, None))
        points.append((at, total / samples if samples else None, low, high))
        previous = at
    return points

