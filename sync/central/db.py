"""The central's event store: SQLite or PostgreSQL, chosen by URL.

``open_db("sqlite:///var/lib/central.db")`` or ``open_db("postgresql://user@host/db")``.
Events are unique by envelope ``id`` (and by site + stream + seq), so a
redelivered event is stored once. The ``watermark`` of a site's stream is the
highest seq with no gap below it: what the central acknowledges on
``<prefix>/<site>/down/ack``. Several central instances may share one
PostgreSQL database; every statement is safe under concurrent writers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import StoreError, UsageError
from appliance.timefmt import utcnow

WATERMARK_SCAN = 20_000  # seqs examined per watermark step (a bigger run advances next time)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS central_events (
        id          TEXT PRIMARY KEY,
        site        TEXT NOT NULL,
        stream      TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        ts          TEXT NOT NULL,
        data        TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (site, stream, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS central_streams (
        site      TEXT NOT NULL,
        stream    TEXT NOT NULL,
        watermark BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (site, stream)
    )""",
    """CREATE TABLE IF NOT EXISTS central_down_seq (
        site     TEXT NOT NULL,
        stream   TEXT NOT NULL,
        last_seq BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (site, stream)
    )""",
    """CREATE TABLE IF NOT EXISTS central_sites (
        site       TEXT PRIMARY KEY,
        status     TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]


@dataclass(frozen=True)
class StoredEvent:
    id: str
    site: str
    stream: str
    seq: int
    ts: str
    data: dict[str, Any]


def _now() -> str:
    return utcnow()


class CentralDB:
    """One connection to the central database (use one per thread)."""

    def __init__(self, url: str, conn: Any, placeholder: str, greatest: str) -> None:
        self.url = url
        self.conn = conn
        self._p = placeholder
        self._greatest = greatest
        self.kind = "postgresql" if placeholder == "%s" else "sqlite"

    def _sql(self, text: str) -> str:
        return text.replace("?", self._p)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), params)
        return cur

    def create_schema(self) -> None:
        for statement in SCHEMA:
            self._execute(statement)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # -- uplink events -------------------------------------------------------

    def store_events(self, events: Iterable[StoredEvent]) -> int:
        """Insert events, skipping ones already stored; commit; return how many were new."""
        now = _now()
        # One global insert order keeps concurrent instances from deadlocking on each other's rows.
        ordered = sorted(events, key=lambda e: (e.site, e.stream, e.seq))
        rows = [(e.id, e.site, e.stream, e.seq, e.ts, json.dumps(e.data, ensure_ascii=False), now) for e in ordered]
        try:
            cur = self.conn.cursor()
            # executemany: one round trip per batch on PostgreSQL (psycopg pipelines it);
            # rowcount is the total inserted, skipped conflicts not counted.
            cur.executemany(
                self._sql(
                    "INSERT INTO central_events(id, site, stream, seq, ts, data, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                rows,
            )
            new = max(cur.rowcount, 0)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        return new

    def advance_watermarks(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Move each (site, stream) watermark over the contiguous seqs now stored; commit."""
        out: dict[tuple[str, str], int] = {}
        try:
            for site, stream in sorted(set(keys)):
                self._execute(
                    "INSERT INTO central_streams(site, stream, watermark) VALUES (?, ?, 0) "
                    "ON CONFLICT DO NOTHING",
                    (site, stream),
                )
                (mark,) = self._execute(
                    "SELECT watermark FROM central_streams WHERE site = ? AND stream = ?", (site, stream)
                ).fetchone()
                mark = int(mark)
                while True:
                    rows = self._execute(
                        "SELECT seq FROM central_events WHERE site = ? AND stream = ? AND seq > ? "
                        "ORDER BY seq LIMIT ?",
                        (site, stream, mark, WATERMARK_SCAN),
                    ).fetchall()
                    moved = False
                    for (seq,) in rows:
                        if int(seq) != mark + 1:
                            break
                        mark += 1
                        moved = True
                    if not moved or len(rows) < WATERMARK_SCAN:
                        break
                self._execute(
                    f"UPDATE central_streams SET watermark = {self._greatest}(watermark, ?) "
                    "WHERE site = ? AND stream = ?",
                    (mark, site, stream),
                )
                (final,) = self._execute(
                    "SELECT watermark FROM central_streams WHERE site = ? AND stream = ?", (site, stream)
                ).fetchone()
                out[(site, stream)] = int(final)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        return out

    # -- downlink numbering --------------------------------------------------

    def next_down_seqs(self, site: str, stream: str, count: int = 1) -> list[int]:
        """Reserve ``count`` downlink seqs of a site's stream (1, 2, 3, ... across instances)."""
        try:
            self._execute(
                "INSERT INTO central_down_seq(site, stream, last_seq) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
                (site, stream),
            )
            (last,) = self._execute(
                "UPDATE central_down_seq SET last_seq = last_seq + ? WHERE site = ? AND stream = ? "
                "RETURNING last_seq",
                (count, site, stream),
            ).fetchone()
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        last = int(last)
        return list(range(last - count + 1, last + 1))

    def set_site_status(self, site: str, status: dict[str, Any]) -> None:
        try:
            self._execute(
                "INSERT INTO central_sites(site, status, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (site) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
                (site, json.dumps(status), _now()),
            )
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise

    # -- reading (tests, stats) ----------------------------------------------

    def events(self, site: str | None = None, stream: str | None = None) -> list[StoredEvent]:
        where, params = [], []
        if site is not None:
            where.append("site = ?")
            params.append(site)
        if stream is not None:
            where.append("stream = ?")
            params.append(stream)
        sql = "SELECT id, site, stream, seq, ts, data FROM central_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._execute(sql + " ORDER BY site, stream, seq", params).fetchall()
        self.conn.commit()
        return [StoredEvent(r[0], r[1], r[2], int(r[3]), r[4], json.loads(r[5])) for r in rows]

    def stats(self) -> list[dict[str, Any]]:
        """Per site and stream: events stored, watermark, highest seq, seqs missing below it."""
        rows = self._execute(
            "SELECT e.site, e.stream, COUNT(*), MAX(e.seq), COALESCE(MAX(s.watermark), 0) "
            "FROM central_events e LEFT JOIN central_streams s ON s.site = e.site AND s.stream = e.stream "
            "GROUP BY e.site, e.stream ORDER BY e.site, e.stream"
        ).fetchall()
        self.conn.commit()
        return [
            {
                "site": r[0],
                "stream": r[1],
                "events": int(r[2]),
                "max_seq": int(r[3]),
                "watermark": int(r[4]),
                "missing": int(r[3]) - int(r[2]),
            }
            for r in rows
        ]

    def site_status(self) -> dict[str, dict[str, Any]]:
        rows = self._execute("SELECT site, status FROM central_sites").fetchall()
        self.conn.commit()
        return {r[0]: json.loads(r[1]) for r in rows}


def open_db(url: str) -> CentralDB:
    """Open (and create the tables of) the database named by ``url``."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lite = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            lite.execute("PRAGMA journal_mode = WAL")
            lite.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as err:
            raise StoreError(f"central database {url}: {err}") from err
        db = CentralDB(url, lite, "?", "MAX")
    elif url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as err:  # pragma: no cover - depends on the install
            raise UsageError("PostgreSQL needs psycopg: pip install 'lab-appliance[postgres]'") from err
        try:
            pg = psycopg.connect(url, autocommit=False)
        except psycopg.Error as err:
            raise StoreError(f"central database {url}: {err}") from err
        db = CentralDB(url, pg, "%s", "GREATEST")
    else:
        raise UsageError(f"database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
    db.create_schema()
    return db
