"""SMS sending figures: queued -> sent per second against a zero-delay simulated modem, and RSS
with 1,000,000 queued messages (the sender claims small batches, so memory must stay flat).

Run: ``.venv/bin/python bench/bench_sms.py [--messages 500] [--queue 1000000]``
Prints one line per figure. The simulator runs in this process (its own thread, a real pty).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from appliance.config import load_config
from appliance.daemon.context import AppContext
from appliance.modem.service import ModemService
from appliance.modem.simulator import SimulatedModem
from appliance.sms.outbox import SmsOutbox
from appliance.sms.sender import OutboxSender
from appliance.store.db import Store, utcnow


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def config_for(tmp: Path, port: str):  # type: ignore[no-untyped-def]
    (tmp / "none.toml").write_text("")
    return load_config(
        None,
        {
            "APPLIANCE_CONFIG": str(tmp / "none.toml"),
            "APPLIANCE_STORAGE__PATH": str(tmp / "bench.db"),
            "APPLIANCE_MODEM__DRIVER": "serial",
            "APPLIANCE_LINE__DRIVER": "none",
            "APPLIANCE_MODEM__PORT": port,
            "APPLIANCE_MODEM__SEND_INTERVAL": "0",
        },
    )


def bulk_queue(store: Store, count: int) -> None:
    """Queue ``count`` messages fast (direct rows; enqueue() would add an event per row)."""
    now = utcnow()
    batch = 50_000
    with store.transaction():
        for start in range(0, count, batch):
            n = min(batch, count - start)
            store.conn.executemany(
                "INSERT INTO sms_messages(box, number, text, status, parts, created_at, updated_at) "
                "VALUES ('outbox', ?, ?, 'queued', 1, ?, ?)",
                ((f"+3584{(start + i) % 10**8:08d}", f"Bench message {start + i}", now, now) for i in range(n)),
            )
    # the fixture's own writes must not be billed to the sender: checkpoint and flush them now
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()


async def run_until_sent(service: ModemService, store: Store, target: int, timeout: float) -> float:
    ctx = service.ctx
    ctx.wakeups.bind(asyncio.get_running_loop())
    store.on_commit_signal = ctx.wakeups.notify
    task = asyncio.create_task(service.run())
    # wait until the modem is up, then time the sending only
    while service.health.state != "ok":
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    start = time.perf_counter()
    end = start + timeout
    sent = 0
    while time.perf_counter() < end:
        sent = store.call(
            lambda: store.conn.execute(
                "SELECT COUNT(*) FROM sms_messages INDEXED BY sms_queue WHERE box = 'outbox' AND status = 'sent'"
            ).fetchone()[0]
        )
        if sent >= target:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - start
    await service.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if sent < target:
        raise SystemExit(f"only {sent} of {target} sent in {timeout} s")
    return elapsed


def bench_throughput(messages: int) -> None:
    with tempfile.TemporaryDirectory() as d, SimulatedModem("ec25", cmgs_delay_s=0.0, auto_report=False) as sim:
        tmp = Path(d)
        config = config_for(tmp, sim.port)
        store = Store.open(config.db_path)
        outbox = SmsOutbox(store)
        for i in range(messages):
            store.call(outbox.enqueue, f"+35840{i:07d}", f"Your results are ready, ref {i}")
        service = ModemService(AppContext(config=config, store=store))
        elapsed = asyncio.run(run_until_sent(service, store, messages, 300))
        print(
            f"throughput: {messages} queued -> sent in {elapsed:.2f} s: {messages / elapsed:.0f} SMS/s, "
            f"{1000 * elapsed / messages:.2f} ms per message (whole path: store + AT over a pty + simulator)"
        )
        # the software's own share: the store steps of one send, measured alone
        sender = OutboxSender(store)
        ids = [store.call(outbox.enqueue, "+358401234567", "x", durable=False).message_id for _ in range(300)]
        durable, plain = [], []
        for mid in ids:
            t0 = time.perf_counter()
            store.call(sender.mark_sending, mid, 1, None)
            t1 = time.perf_counter()
            store.call(sender.part_sent, mid, 1, mid % 256)
            store.call(sender.message_sent, mid)
            t2 = time.perf_counter()
            durable.append(t1 - t0)
            plain.append(t2 - t1)
        print(
            f"store per send: mark_sending (durable, fsync) median {1000 * statistics.median(durable):.3f} ms, "
            f"part_sent+message_sent median {1000 * statistics.median(plain):.3f} ms"
        )
        t0 = time.perf_counter()
        for _ in range(300):
            store.call(sender.claim_due)
        print(f"claim_due (batch of 16): {1000 * (time.perf_counter() - t0) / 300:.3f} ms per call")
        store.close()


def bench_memory(queue: int, sends: int) -> None:
    with tempfile.TemporaryDirectory() as d, SimulatedModem("ec25", cmgs_delay_s=0.0, auto_report=False) as sim:
        tmp = Path(d)
        config = config_for(tmp, sim.port)
        store = Store.open(config.db_path)
        t0 = time.perf_counter()
        bulk_queue(store, queue)
        print(
            f"memory: queued {queue} rows in {time.perf_counter() - t0:.1f} s; "
            f"db {os.path.getsize(config.db_path) / 2**20:.0f} MiB"
        )
        before = rss_mb()
        service = ModemService(AppContext(config=config, store=store))
        elapsed = asyncio.run(run_until_sent(service, store, sends, 300))
        after = rss_mb()
        t1 = time.perf_counter()
        due = store.call(OutboxSender(store).claim_due)
        claim_ms = 1000 * (time.perf_counter() - t1)
        print(
            f"memory: RSS {before:.1f} MiB before, {after:.1f} MiB after sending {sends} of {queue} queued "
            f"({sends / elapsed:.0f} SMS/s); claim_due at this depth {claim_ms:.2f} ms for {len(due)} rows"
        )
        sender = OutboxSender(store)
        steps = []
        for message in store.call(sender.claim_due, limit=200):
            t0 = time.perf_counter()
            store.call(sender.mark_sending, message.id, 1, None)
            store.call(sender.part_sent, message.id, 1, message.id % 256)
            store.call(sender.message_sent, message.id)
            steps.append(time.perf_counter() - t0)
        steps.sort()
        print(
            f"memory: store steps per send at this depth: median {1000 * statistics.median(steps):.2f} ms, "
            f"p95 {1000 * steps[int(len(steps) * 0.95)]:.2f} ms"
        )
        store.close()


def bench_receive_parts(messages: int, incomplete: int, overlap: bool = False) -> None:
    """Parts stored per second (4-part messages, one sender), with ``incomplete`` messages of that
    sender stored incomplete within the late-part window: each part first looks for the stored
    incomplete message it may complete (receiver.LATE_PART_*), so this is that lookup's cost.
    ``overlap``: the new messages are stamped among the incomplete ones (one a second, other
    references), the worst case for the lookup (it reads the sender's parts within +-10 min)."""
    from datetime import UTC, datetime, timedelta

    from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver
    from appliance.sms.receiver import InboxReceiver

    def parts(text: str, ref: int, when: datetime) -> list[SmsDeliver]:
        out = []
        for pdu in encode_deliver("+358401234567", text, when, concat_ref=ref):
            msg = decode_pdu(pdu, with_smsc=True)
            assert isinstance(msg, SmsDeliver)
            out.append(msg)
        return out

    text = "".join(f"osa{i:03d} " for i in range(80))  # 4 parts
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        receiver = InboxReceiver(store, "FI")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        for n in range(incomplete):  # stored incomplete: part 2 never came
            for msg in parts(text, n % 256, start + timedelta(seconds=n)):
                if msg.concat and msg.concat.seq != 2:
                    receiver.store_part(msg)
        receiver.flush_stale(datetime.now(UTC) + timedelta(hours=2))
        offset = timedelta(seconds=0) if overlap else timedelta(hours=1)
        batch = [parts(text.upper(), (n + 128) % 256, start + offset + timedelta(seconds=n)) for n in range(messages)]
        t0 = time.perf_counter()
        for msgs in batch:
            for msg in msgs:
                receiver.store_part(msg)
        elapsed = time.perf_counter() - t0
        print(
            f"receive: {messages * 4 / elapsed:,.0f} parts/s stored (4-part messages, durable commit each), "
            f"{incomplete} incomplete messages of the same sender in the late-part window"
            + (", stamped among them" if overlap else "")
        )
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--queue", type=int, default=1_000_000)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--receive-only", action="store_true", help="only the receiving figures")
    args = parser.parse_args()
    if args.receive_only:
        for incomplete in (0, 2000):
            bench_receive_parts(args.messages, incomplete)
        bench_receive_parts(args.messages, 2000, overlap=True)
        return 0
    bench_throughput(args.messages)
    bench_memory(args.sends + 1000, args.sends)
    bench_memory(args.queue, args.sends)
    for incomplete in (0, 2000):
        bench_receive_parts(args.messages, incomplete)
    bench_receive_parts(args.messages, 2000, overlap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
