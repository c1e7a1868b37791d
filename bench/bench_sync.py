"""Sync benchmark: uplink events/s end to end (appliance -> Mosquitto -> reference central -> ack),
the time to drain a 100,000-event backlog after an outage, and the daemon's RSS meanwhile.

    .venv/bin/python bench/bench_sync.py [--events 100000] [--live 20000] [--db sqlite|postgresql]

Runs a private Mosquitto (never the system one), the real daemon (``appliance run``) as a
subprocess, and the reference central in this process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.store.db import Store  # noqa: E402
from appliance.store.outbox import EventOutbox  # noqa: E402
from sync.central.server import CentralServer, CentralSettings  # noqa: E402
from tests.helpers import Daemon  # noqa: E402
from tests.sync.conftest import daemon_sync_env  # noqa: E402
from tests.sync.mosquitto import CENTRAL_USER, Mosquitto  # noqa: E402

SITE = "bench-site"
USERS = {CENTRAL_USER: "central-secret", SITE: "bench-secret"}
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def fill(db_path: Path, stream: str, start: int, count: int, batch: int = 5000, pause: float = 0.0) -> None:
    """Write events from another process, ``batch`` per transaction, ``pause`` s between them."""
    store = Store.open(db_path)
    try:
        outbox = EventOutbox(store)
        for lo in range(start, start + count, batch):
            with store.transaction():
                for i in range(lo, min(lo + batch, start + count)):
                    outbox.append(stream, {"i": i, "status": "delivered", "message_id": i})
            # A writer that never pauses starves the daemon's commits (SQLite's lock is not fair).
            time.sleep(pause)
    finally:
        store.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop_flag = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                self.samples.append(rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.25)


def wait_stored(central: CentralServer, target: int, timeout: float) -> float:
    start = time.monotonic()
    while central.counters.stored < target:
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timeout: central stored {central.counters.stored} of {target}")
        time.sleep(0.05)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000, help="backlog to drain")
    parser.add_argument("--live", type=int, default=20_000, help="events written while connected")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        (work / "broker").mkdir()
        broker = Mosquitto(work / "broker", USERS).start()
        data_dir = work / "daemon"
        data_dir.mkdir()
        db_path = data_dir / "appliance.db"
        env = daemon_sync_env(broker.port, SITE, USERS[SITE])
        db_url = f"sqlite:///{work / 'central.db'}" if args.db == "sqlite" else PG_URL
        if args.db == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as c:
                c.execute("DROP TABLE IF EXISTS central_events, central_streams, central_down_seq, central_sites")
        central = CentralServer(
            CentralSettings(port=broker.port, db_url=db_url, username=CENTRAL_USER, password=USERS[CENTRAL_USER])
        )
        central.start()
        central.wait_connected(15)
        try:
            # 1. Backlog after an outage: the outbox holds N events before the daemon starts.
            t0 = time.monotonic()
            fill(db_path, "sms_status", 0, args.events)
            print(f"filled outbox with {args.events} events in {time.monotonic() - t0:.1f} s")
            daemon = Daemon(data_dir, **env).start()
            assert daemon.proc is not None
            sampler = RssSampler(daemon.proc.pid)
            sampler.start()
            start = time.monotonic()
            drain = wait_stored(central, args.events, 600)
            store = Store.open(db_path)
            while EventOutbox(store).backlog()["unacked"] > 0:
                time.sleep(0.05)
            acked = time.monotonic() - start
            store.close()
            print(
                f"backlog drain: {args.events} events stored centrally in {drain:.1f} s "
                f"({args.events / drain:,.0f} events/s), all acknowledged on the appliance after {acked:.1f} s"
            )
            # 2. Live: events written while connected, measured from first write to last ack.
            before = central.counters.stored
            start = time.monotonic()
            writer = threading.Thread(target=fill, args=(db_path, "call", 0, args.live, 500, 0.02))
            writer.start()
            wait_stored(central, before + args.live, 600)
            writer.join()
            live = time.monotonic() - start
            print(f"live stream: {args.live} events end to end in {live:.1f} s ({args.live / live:,.0f} events/s)")
            sampler.stop_flag.set()
            sampler.join()
            if sampler.samples:
                print(
                    f"daemon RSS: start {sampler.samples[0] / 1024:.1f} MiB, "
                    f"peak {max(sampler.samples) / 1024:.1f} MiB, end {sampler.samples[-1] / 1024:.1f} MiB"
                )
            c = central.counters
            print(
                f"central: stored {c.stored}, duplicates {c.duplicates}, acks sent {c.acks_sent}, batches {c.batches}"
            )
            daemon.terminate()
            notable = [
                line
                for line in daemon.log().splitlines()
                if "again" in line or "disconnected" in line or "refused" in line or "ERROR" in line
            ]
            print(f"daemon log: {len(notable)} resend/disconnect lines" + "".join(f"\n  {ln}" for ln in notable[:10]))
        finally:
            central.stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
