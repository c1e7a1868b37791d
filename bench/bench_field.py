"""Field figures: SD-card writes per hour (idle and under SMS load), backup time for a big database.

Writes: `appliance run` with a simulated GSM modem on a pty, in a temp data dir; the
daemon's /proc/<pid>/io ``write_bytes`` (what it sent towards the block device) and its
fsync-ed commits are sampled over a window and scaled to an hour. ``--load N`` queues N SMS
(each a row, its parts, its events) during the window.

Backup: builds a database of ``--backup-mb`` MiB of SMS rows and events, then times
`appliance backup` on it, idle and while a writer commits as fast as it can.

Usage: python bench/bench_field.py [--window S] [--load N] [--backup-mb MB] [--skip-writes]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.modem.simulator import SimulatedModem
from appliance.ops.backup import backup
from appliance.store.db import Store, utcnow
from appliance.store.outbox import EventOutbox
from tests.helpers import Daemon, appliance_cmd


def _io(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = int(value)
    return out


def writes_per_hour(window: float, load: int, settle: float, env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-field-") as tmp, SimulatedModem("ec25", chatter=False) as sim:
        data = Path(tmp)
        daemon = Daemon(data, APPLIANCE_MODEM__DRIVER="serial", APPLIANCE_MODEM__PORT=sim.path,
                        APPLIANCE_LINE__DRIVER="none", APPLIANCE_MODEM__SEND_INTERVAL="0", **env).start()
        try:
            daemon.wait_healthy(60)
            time.sleep(settle)
            assert daemon.proc is not None
            pid = daemon.proc.pid
            before = _io(pid)
            started = time.monotonic()
            if load:
                for i in range(load):
                    subprocess.run(appliance_cmd("sms", "send", "--to", "+358401234567", "--text", f"load {i}"),
                                   env=daemon.env, capture_output=True, check=True, cwd=data)
            rest = window - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)
            elapsed = time.monotonic() - started
            after = _io(pid)
            sent = len(sim.sent)
        finally:
            daemon.kill()
    scale = 3600.0 / elapsed
    return {
        "write_mb_per_hour": (after["write_bytes"] - before["write_bytes"]) * scale / 1e6,
        "write_syscalls_per_hour": (after["syscw"] - before["syscw"]) * scale,
        "sms_sent": sent,
        "window_s": elapsed,
    }


def _fill(path: Path, megabytes: int) -> None:
    store = Store.open(path)
    try:
        text = "x" * 400
        while path.stat().st_size < megabytes * 1024 * 1024:
            with store.transaction():
                now = utcnow()
                for _ in range(2000):
                    cur = store.conn.execute(
                        "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                        "VALUES ('outbox', '+358401234567', ?, 'delivered', ?, ?)", (text, now, now))
                    EventOutbox(store).append("sms_status", {"message_id": cur.lastrowid, "status": "delivered"})
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()


def backup_times(megabytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        db = Path(tmp) / "appliance.db"
        t0 = time.monotonic()
        _fill(db, megabytes)
        fill_s = time.monotonic() - t0
        idle = backup(db, Path(tmp) / "idle.db", "bench").seconds
        (Path(tmp) / "idle.db").unlink()
        stop = threading.Event()
        ready = threading.Event()
        commits = [0]
        store = Store.open(db)  # opened (and integrity-checked) before the clock starts

        def writer() -> None:
            while not stop.is_set():
                with store.transaction():
                    EventOutbox(store).append("call", {"x": 1})
                commits[0] += 1
                ready.set()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            ready.wait(60)
            before = commits[0]
            busy = backup(db, Path(tmp) / "busy.db", "bench").seconds
            commits[0] -= before
        finally:
            stop.set()
            thread.join()
            store.close()
        size = db.stat().st_size / 1e6
    return {"db_mb": size, "fill_s": fill_s, "backup_idle_s": idle, "backup_during_writes_s": busy,
            "writer_commits": commits[0]}  # commits made while the backup ran


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--load", type=int, default=200)
    parser.add_argument("--backup-mb", type=int, default=1024)
    parser.add_argument("--skip-writes", action="store_true")
    parser.add_argument("--skip-backup", action="store_true")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="daemon environment, e.g. APPLIANCE_STORAGE__WAL_AUTOCHECKPOINT=1000")
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env)
    if not args.skip_writes:
        idle = writes_per_hour(args.window, 0, args.settle, env)
        print(f"| SD writes, idle daemon | {idle['write_mb_per_hour']:.2f} MB/h, "
              f"{idle['write_syscalls_per_hour']:.0f} write calls/h |")
        busy = writes_per_hour(args.window, args.load, args.settle, env)
        print(f"| SD writes, {args.load} SMS in {busy['window_s']:.0f} s ({busy['sms_sent']} sent) | "
              f"{busy['write_mb_per_hour']:.2f} MB/h at that rate |")
    if not args.skip_backup:
        b = backup_times(args.backup_mb)
        print(f"| backup of a {b['db_mb']:.0f} MB database | {b['backup_idle_s']:.1f} s idle, "
              f"{b['backup_during_writes_s']:.1f} s during writes ({b['writer_commits']} commits meanwhile) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
