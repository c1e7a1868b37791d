"""Message search with 1,000,000 messages: the trigram index against the LIKE scan, and its costs.

- query times through :func:`appliance.web.data.message_page` (the pages' own query): a rare
  hit, no hit, a common word, a short text (LIKE), indexed and (with the index bypassed) as a scan;
- the index build after the store is upgraded (the web part's catch-up, 5,000 per batch), and its size;
- what the index costs each message written: bytes handed to the kernel (``wchar``) per
  message stored one commit at a time, as the daemon does, with and without the triggers.

    python bench/bench_search.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.store.db import Store, utcnow
from appliance.web import data, search
from bench.bench_web import fill


def wchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def timed(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def query_times(store: Store) -> None:
    cases = {
        "rare word, 1 hit (Message 123457:)": "Message 123457:",
        "no hit (results 12345)": "results 12345",
        "common words (results are ready)": "results are ready",
        "2 characters (LIKE scan)": "zq",
    }
    for name, text in cases.items():
        indexed = timed(lambda t=text: data.message_page(store, "outbox", text=t))
        rows = len(data.message_page(store, "outbox", text=text)[0])
        print(f"  {name:<38} {indexed:9.1f} ms  ({rows} rows)")
    saved = data.TRIGRAM
    data.TRIGRAM = 10**6  # every text through LIKE: the scan the index replaced
    try:
        for name, text in cases.items():
            scan = timed(lambda t=text: data.message_page(store, "outbox", text=t), repeat=3)
            print(f"  {name:<38} {scan:9.1f} ms as a LIKE scan")
    finally:
        data.TRIGRAM = saved


def write_cost(folder: Path, messages: int = 2000, per_catch_up: int = 10) -> None:
    """Bytes handed to the kernel per message stored (one commit each, as the daemon does)."""
    text = "Hei! Tuloksesi ovat valmiina noudettavaksi laboratoriosta. Ystävällisin terveisin, Laboratorio"
    for label in ("no index", "indexed in batches", "indexed per message"):
        store = Store.open(folder / f"w-{label.replace(' ', '-')}.db")
        if label == "indexed per message":  # the design not taken: an insert trigger
            with store.transaction():
                store.conn.execute(
                    "CREATE TRIGGER sms_text_insert AFTER INSERT ON sms_messages BEGIN "
                    "INSERT INTO sms_text(rowid, text) VALUES (new.id, new.text); END"
                )
                store.set_meta(search.UPTO_META, str(2**62))
        now = utcnow()
        before = wchar()
        for i in range(messages):
            with store.transaction():
                store.conn.execute(
                    "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                    "VALUES ('outbox', ?, ?, 'queued', ?, ?)", (f"+35840{i:07d}", f"{text} {i}", now, now))
            if label == "indexed in batches" and i % per_catch_up == per_catch_up - 1:
                search.catch_up(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        per_message = (wchar() - before) / messages
        store.close()
        print(f"  {label:<22} {per_message / 1024:6.1f} KiB per message stored")
    print(f"  (batches: one catch-up per {per_catch_up} messages, what 15 minutes bring at 40 SMS an hour)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        folder = Path(tmp)
        cache = Path(tempfile.gettempdir()) / f"bench-search-{args.rows}.db"
        if not cache.exists():
            start = time.monotonic()
            fill(cache, args.rows)
            print(f"store filled with {args.rows:,} messages in {time.monotonic() - start:.0f} s")
        db = folder / "appliance.db"
        shutil.copy(cache, db)
        store = Store.open(db)
        try:
            start = time.monotonic()
            while search.catch_up(store) == search.BATCH:  # what the web part does after the upgrade
                pass
            build = time.monotonic() - start
            pages = store.conn.execute("SELECT COUNT(*) FROM dbstat WHERE name LIKE 'sms_text%'").fetchone()[0]
            page_size = store.conn.execute("PRAGMA page_size").fetchone()[0]
            print(f"index built by the catch-up after the upgrade, {args.rows:,} messages: {build:.1f} s; "
                  f"index {pages * page_size / 2**20:.0f} MiB, database {os.path.getsize(db) / 2**20:.0f} MiB")
            print("query, outbox (2/3 of the rows), first page of 50:")
            query_times(store)
        finally:
            store.close()
        write_cost(folder)


if __name__ == "__main__":
    main()
