"""Status page figures: 50 live viewers, event latency, inbox render time with 1,000,000 messages, daemon RSS/CPU.

Runs the real daemon (simulated modem and line) on a store filled with
1,000,000 messages spread over a year, opens 50 live channels (SSE) as 50
logged-in viewers, injects SMS into the simulated modem and measures, per
viewer and event:

- bus -> viewer: from the ``sms_in`` publish (right after the store commit)
  to the event read by the viewer (same clock: ``published_ms`` in the event);
- inject -> viewer: from ``appliance sms sim inject`` to the viewer (the whole
  path: simulated modem, receiver, store, inbound router, bus, SSE);

then times the inbox pages (first page, a deep page, by number, failed) and
reads the daemon's RSS and CPU from /proc while the viewers are connected.

    python bench/bench_web.py [--rows 1000000] [--viewers 50] [--events 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.store.db import Store
from tests.helpers import Daemon, run_cli

PASSWORD = "correct horse"


def fill(db: Path, rows: int) -> None:
    store = Store.open(db)
    now = datetime.now(UTC)
    rnd = random.Random(7)
    batch = []
    with store.transaction():
        for i in range(rows):
            at = (now - timedelta(seconds=rnd.randrange(365 * 86400))).isoformat(timespec="milliseconds")
            at = at.replace("+00:00", "Z")
            inbox = i % 3 == 0
            status = "received" if inbox else rnd.choice(("delivered",) * 30 + ("sent", "failed", "expired"))
            batch.append(("inbox" if inbox else "outbox", f"+35840{rnd.randrange(10**7):07d}",
                          f"Message {i}: your results are ready", status, at, at))
            if len(batch) == 50_000:
                store.conn.executemany(
                    "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        if batch:
            store.conn.executemany(
                "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                batch)
    with store.transaction():  # history: already routed by the inbound part, as on a box in service
        store.conn.execute(
            "INSERT INTO sms_inbound_routes(message_id, handled_as, routed_at) "
            "SELECT id, 'sms_in', created_at FROM sms_messages WHERE box = 'inbox'"
        )
    store.conn.execute("ANALYZE")
    store.close()


async def login(session: aiohttp.ClientSession, base: str) -> None:
    """Log in; a 429 (password checks are bounded to 4 at once) is retried after Retry-After."""
    for _ in range(100):
        page = await (await session.get(base + "/login")).text()
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token
        resp = await session.post(base + "/login", data={"username": "tech", "password": PASSWORD,
                                                          "csrf_token": token.group(1)}, allow_redirects=False)
        if resp.status != 429:
            assert resp.status == 302, resp.status
            return
        await asyncio.sleep(float(resp.headers.get("Retry-After", "1")) * random.random())
    raise AssertionError("could not log in")


async def viewer(
    base: str, ready: asyncio.Event, got: list[tuple[int, float]], stop: asyncio.Event, after_id: int
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await login(session, base)
        async with session.get(base + "/live", timeout=aiohttp.ClientTimeout(total=None)) as resp:
            assert resp.status == 200, resp.status
            ready.set()
            event = ""
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "sms_in":
                    data = json.loads(line[6:])
                    if int(data["message_id"]) <= after_id:
                        continue
                    got.append((int(data["message_id"]), time.time() * 1000 - data["published_ms"]))
                if stop.is_set():
                    return


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def measure(daemon: Daemon, data_dir: Path, viewers: int, events: int) -> None:
    base = daemon.url("").rstrip("/")
    assert daemon.proc is not None
    pid = daemon.proc.pid
    rss_idle = rss_mib(pid)
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(viewers)]
    got: list[list[tuple[int, float]]] = [[] for _ in range(viewers)]
    import sqlite3

    conn = sqlite3.connect(data_dir / "appliance.db")
    after_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM sms_messages").fetchone()[0]
    conn.close()
    tasks = [asyncio.create_task(viewer(base, readies[i], got[i], stop, after_id)) for i in range(viewers)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    cpu0, t0 = cpu_s(pid), time.monotonic()
    inject_lat: list[float] = []
    for i in range(events):
        start = time.monotonic()
        before = sum(len(g) for g in got)
        await asyncio.to_thread(run_cli, data_dir, "sms", "sim", "inject", "--from", "+358401234567",
                                "--text", f"bench {i}")
        deadline = time.monotonic() + 20
        while sum(len(g) for g in got) < before + viewers and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        inject_lat.append((time.monotonic() - start) * 1000)
        await asyncio.sleep(0.3)
    cpu1, t1 = cpu_s(pid), time.monotonic()
    rss_live = rss_mib(pid)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = [ms for g in got for _, ms in g]
    received = sum(len(g) for g in got)
    print(f"live viewers: {viewers}, events: {events}, deliveries: {received}/{viewers * events}")
    print(f"bus -> viewer latency: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms")
    print(f"inject -> all {viewers} viewers (whole path, incl. CLI start ~0.3 s): "
          f"p50 {pct(inject_lat, 50):.0f} ms, p99 {pct(inject_lat, 99):.0f} ms")
    print(f"daemon RSS: {rss_idle:.0f} MiB idle, {rss_live:.0f} MiB with {viewers} viewers; "
          f"CPU {100 * (cpu1 - cpu0) / (t1 - t0):.1f} % of one core while events flowed")


async def render_times(daemon: Daemon) -> None:
    base = daemon.url("").rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await login(session, base)
        page = await (await session.get(base + "/inbox")).text()
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token
        resp = await session.post(base + "/messages/search", data={
            "csrf_token": token.group(1), "box": "inbox", "q": "+358401234567"}, allow_redirects=False)
        by_number = resp.headers["Location"]
        resp = await session.post(base + "/messages/search", data={
            "csrf_token": token.group(1), "box": "outbox", "q": "results 12345"}, allow_redirects=False)
        by_text = resp.headers["Location"]
        cases = {
            "inbox, first page": "/inbox", "inbox, page at id 500000": "/inbox?before=500000",
            "outbox, status failed": "/outbox?status=failed", "failed (3 statuses)": "/failed",
            "inbox, one number": by_number, "outbox, text search (scan)": by_text, "dashboard": "/",
        }
        for name, path in cases.items():
            times = []
            for _ in range(10):
                start = time.perf_counter()
                resp = await session.get(base + path)
                body = await resp.text()
                assert resp.status == 200 and resp.url.path == path.split("?")[0], (path, resp.status, resp.url)
                times.append((time.perf_counter() - start) * 1000)
            rows = body.count('<tr data-id=')
            print(f"render {name:<28} median {statistics.median(times):7.1f} ms, max {max(times):7.1f} ms"
                  + (f"  ({rows} rows)" if path != "/" else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--render-only", action="store_true", help="skip the live viewers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        data_dir = Path(tmp)
        cache = Path(tempfile.gettempdir()) / f"bench-web-v2-{args.rows}.db"  # filling takes minutes: kept
        if not cache.exists():
            start = time.monotonic()
            fill(cache, args.rows)
            print(f"store filled with {args.rows:,} messages in {time.monotonic() - start:.0f} s")
        shutil.copy(cache, data_dir / "appliance.db")
        assert run_cli(data_dir, "users", "add", "tech", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
        daemon = Daemon(data_dir, APPLIANCE_MODEM__SEND_INTERVAL="0").start()
        try:
            daemon.wait_healthy(60)
            asyncio.run(render_times(daemon))
            if not args.render_only:
                asyncio.run(measure(daemon, data_dir, args.viewers, args.events))
        finally:
            daemon.kill()


if __name__ == "__main__":
    main()
