"""The modem's signal history: 5-minute buckets in the store, kept across restarts, pruned."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.modem import service as service_mod
from appliance.modem import signal_history as sh
from appliance.store.db import Store
from tests.modem.conftest import Harness
from tests.web.harness import web_app

T0 = 1_800_000_000 // sh.BUCKET_S * sh.BUCKET_S  # a bucket boundary


def _rows(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute(
        "SELECT bucket_start, samples, unknown, sum, min, max FROM signal_history ORDER BY 1"
    ).fetchall()


def test_readings_fold_into_one_bucket_until_the_next_starts() -> None:
    buckets = sh.SignalBuckets()
    assert buckets.add(T0 + 1, 20) is None
    assert buckets.add(T0 + 31, None) is None  # +CSQ 99: counted as unknown, not as 0
    assert buckets.add(T0 + 61, 12) is None
    assert buckets.add(T0 + 91, 99) is None  # out of range: unknown too
    done = buckets.add(T0 + sh.BUCKET_S, 25)
    assert done is not None
    assert (done.start, done.samples, done.unknown, done.total, done.low, done.high) == (T0, 2, 2, 32, 12, 20)
    back = buckets.add(T0 - 3600, 5)  # the clock set back an hour closes the bucket in hand
    assert back is not None and back.start == T0 + sh.BUCKET_S and back.samples == 1
    in_hand = buckets.take()
    assert in_hand is not None and in_hand.start == T0 - 3600 and buckets.take() is None


def test_a_bucket_written_twice_is_merged_and_old_rows_are_pruned(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        now = int(time.time()) // sh.BUCKET_S * sh.BUCKET_S
        first, second = sh.Bucket(now), sh.Bucket(now)  # a restart inside the bucket
        for value in (10, 14):
            first.add(value)
        for value in (None, 8, 30):
            second.add(value)
        old = sh.Bucket(now - (sh.KEEP_DAYS + 1) * 86400)
        old.add(3)
        with store.transaction():
            store.conn.execute(
                "INSERT INTO signal_history(bucket_start, samples, sum, min, max) VALUES (?, 1, 3, 3, 3)",
                (old.start_iso,),
            )
        sh.save_bucket(store, first)
        sh.save_bucket(store, second)
        assert _rows(store) == [(first.start_iso, 4, 1, 62, 8, 30)]  # the old one pruned
        only_unknown = sh.Bucket(now - sh.BUCKET_S)
        only_unknown.add(None)
        sh.save_bucket(store, only_unknown)
        gone_for_a_while = sh.Bucket(now - 6 * sh.BUCKET_S)
        gone_for_a_while.add(21)
        sh.save_bucket(store, gone_for_a_while)
        points = sh.history(store, 24)
        assert [p[1] for p in points] == [21.0, None, None, 62 / 4]
        assert points[1][0] == gone_for_a_while.start + sh.BUCKET_S  # the gap, shown as a break
    finally:
        store.close()


def test_the_modem_part_saves_buckets_and_the_chart_reads_them_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_mod, "HEALTH_POLL_S", 0.2)
    monkeypatch.setattr(sh, "BUCKET_S", 1)

    async def main() -> None:
        async with Harness(tmp_path, "", driver="sim") as h:  # the in-process simulator, as `make run` has it
            await h.until(lambda: len(h.query("SELECT * FROM signal_history")) >= 3, what="three saved buckets")
            assert h.service.health.state == "ok", h.service.health.detail  # the modem still there throughout
            assert h.service.sim is not None and h.service.recoveries == 0
        rows = Store.open(tmp_path / "appliance.db")
        try:
            saved = _rows(rows)
        finally:
            rows.close()
        assert all(samples >= 1 and 0 <= low <= high <= 31 for _, samples, _, _, low, high in saved)
        async with web_app(tmp_path) as web:  # the same store file, opened anew
            tech = await web.login("tech")
            chart = await (await tech.get("/charts/signal.svg")).text()
            assert "no data yet" not in chart and ("<polyline" in chart or "<circle" in chart)

    asyncio.run(main())


def test_history_is_bounded_to_the_window_asked(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        start = datetime.now(UTC) - timedelta(hours=30)
        for i in range(30 * 12):  # 30 hours of buckets
            bucket = sh.Bucket(int(start.timestamp()) // sh.BUCKET_S * sh.BUCKET_S + i * sh.BUCKET_S)
            bucket.add(15)
            sh.save_bucket(store, bucket)
        assert 24 * 12 - 1 <= len(sh.history(store, 24)) <= 24 * 12 + 1
    finally:
        store.close()
