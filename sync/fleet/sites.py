"""Many simulated sites in one process, each running the appliance's own sync part.

A site here is the daemon's :class:`~appliance.sync.service.SyncService` (the
same link, uplink relay, outbox, downlink applier, persistent session and
watermark handling) over its own SQLite store (an in-memory copy of a
migrated template, or a file copy with ``memory=False``) and its own
credentials; only the modem and the phone line are absent. Events
are written into the site's outbox the way the domain code writes them, at a
configurable rate with a realistic mix of streams. All sites of a process
share one asyncio loop and one small thread pool for their stores (each
store's lock keeps its own calls serial); paho still runs one network thread
per site, as on an appliance.

Run by :mod:`sync.fleet.run` as ``python -m sync.fleet.sites``: the first
stdin line is the JSON :class:`HostSpec`; then one command per line, each
answered by one JSON line on stdout:

- ``status``: connected sites, unacknowledged events, downlink applied, resends;
- ``go SECONDS RATE``: produce for SECONDS at RATE events/s per site
  (answered at once; ``produced`` tells when it is over);
- ``produced``: ``{"done": bool, "written": n}``;
- ``sent``: per site and stream, the highest seq given out (= events written);
- ``quit``: stop every site cleanly, answer, exit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import faulthandler
import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.config import load_config
from appliance.daemon.context import AppContext
from appliance.store.db import Store
from appliance.store.outbox import EventOutbox
from appliance.sync.link import LinkSettings
from appliance.sync.service import SyncService

log = logging.getLogger(__name__)

STORE_THREADS = 8  # store calls of all sites of a process share these threads
STOP_TIMEOUT_S = 10.0
STOP_THREADS = 64  # clean disconnects run in parallel at the end
# The uplink mix of a lab: mostly SMS statuses and replies, some calls, fewer surveys and complaints.
MIX = (("sms_status", 0.45), ("sms_in", 0.25), ("call", 0.15), ("survey_reply", 0.10), ("complaint", 0.05))
STATUSES = ("queued", "sent", "delivered", "failed")


@dataclass(frozen=True)
class SiteSpec:
    site: str
    password: str


@dataclass
class HostSpec:
    """What one site-host process runs."""

    host: str
    port: int
    sites: list[SiteSpec]
    workdir: str
    template: str
    prefix: str = "lab/v1"
    seed: int = 1
    inflight: int = 300
    # In-memory stores (the migrated template copied in): no file descriptors, which paho's
    # select() needs below 1024; files (WAL, as on an appliance) hold three per site.
    memory: bool = True
    # Sites started per second by this process (paced, like sites that power up over a morning);
    # 0 starts them all at once.
    connect_rate: float = 0.0
    # The relay's poll for rows other processes write: an in-memory store has none (each commit
    # of this process wakes the relay at once), so the daemon's 1 s poll only costs CPU here.
    idle_check_s: float = 30.0
    health_interval_s: float = 5.0
    # Site processes run below the broker, the central and the database: on one machine they
    # stand in for thousands of appliances' own CPUs, and must not starve what is measured.
    nice: int = 10
    # Python's GIL: a thread waiting for it wakes every switch interval (5 ms by default) to ask
    # for it; with ~300 paho threads per process that alone made thousands of wake-ups per second
    # and most of the CPU time kernel time. A longer interval lets waiting threads sleep.
    switch_interval_s: float = 0.05
    extra_env: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> HostSpec:
        doc = json.loads(text)
        doc["sites"] = [SiteSpec(**s) for s in doc["sites"]]
        return cls(**doc)


def event_data(stream: str, rng: random.Random, n: int) -> dict[str, Any]:
    """A plausible ``data`` object for ``stream`` (the shapes of INTERFACES.md §3)."""
    number = f"+35840{rng.randrange(10**7):07d}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if stream == "sms_status":
        return {"message_id": n, "status": rng.choice(STATUSES), "notification_id": f"n-{uuid.uuid4().hex[:12]}"}
    if stream == "sms_in":
        text = rng.choice(("Kiitos", "OK", "Can I move my appointment?", "STOP", "Tack", "收到"))
        return {"message_id": n, "number": number, "text": text, "received_at": now}
    if stream == "call":
        return {
            "call_id": str(uuid.uuid4()),
            "direction": rng.choice(("in", "out")),
            "number": number,
            "contact_id": None,
            "started_at": now,
            "ended_at": now,
            "outcome": rng.choice(("answered", "no_answer", "busy")),
            "keys": "".join(rng.choice("0123456789") for _ in range(rng.randrange(4))),
        }
    if stream == "survey_reply":
        return {
            "survey_id": "satisfaction-1",
            "contact_id": f"c-{rng.randrange(1000)}",
            "channel": rng.choice(("sms", "call", "desk")),
            "answers": [{"question_id": "q1", "value": rng.randint(1, 5)}, {"question_id": "q2", "value": True}],
            "complete": True,
        }
    return {
        "complaint_id": str(uuid.uuid4()),
        "reference": f"C-{rng.randrange(10**6):06d}",
        "channel": "sms",
        "anonymous": False,
        "text": "The waiting time was long.",
        "contact_id": None,
        "number": number,
    }


def _memory_store(template: str, path: Path) -> Store:
    """A Store over an in-memory copy of the migrated ``template`` (same schema, same code)."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    source = sqlite3.connect(template)
    try:
        source.backup(conn)
    finally:
        source.close()
    conn.execute("PRAGMA foreign_keys = ON")
    return Store(path, conn, 1024 * 1024)


def pick_stream(rng: random.Random) -> str:
    x = rng.random()
    for stream, share in MIX:
        x -= share
        if x < 0:
            return stream
    return MIX[-1][0]


class FleetSite:
    """One simulated site: the daemon's SyncService over its own store."""

    def __init__(self, spec: SiteSpec, host: HostSpec, pool: ThreadPoolExecutor) -> None:
        self.site = spec.site
        directory = Path(host.workdir) / spec.site
        directory.mkdir(parents=True, exist_ok=True)
        db_path = directory / "appliance.db"
        if not host.memory and not db_path.exists():
            shutil.copyfile(host.template, db_path)  # migrated once, copied per site
        environ = {
            "APPLIANCE_SITE__ID": spec.site,
            "APPLIANCE_SITE__TIMEZONE": "Europe/Helsinki",
            "APPLIANCE_STORAGE__PATH": str(db_path),
            "APPLIANCE_STORAGE__MIN_FREE_MB": "1",
            "APPLIANCE_MQTT__ENABLED": "true",
            "APPLIANCE_MQTT__HOST": host.host,
            "APPLIANCE_MQTT__PORT": str(host.port),
            "APPLIANCE_MQTT__USERNAME": spec.site,
            "APPLIANCE_MQTT__PASSWORD": spec.password,
            "APPLIANCE_MQTT__TOPIC_PREFIX": host.prefix,
            "APPLIANCE_MQTT__INFLIGHT": str(host.inflight),
            "APPLIANCE_NOTIFICATIONS__QUIET_HOURS": "",
            "APPLIANCE_MODEM__DRIVER": "none",
            "APPLIANCE_LINE__DRIVER": "none",
            **host.extra_env,
        }
        self.config = load_config(None, environ)
        self.store = _memory_store(host.template, db_path) if host.memory else Store.open(db_path, min_free_mb=1)
        # Many small stores share a few threads; Store.call's lock keeps each store's calls serial.
        self.store._executor = pool
        self.ctx = AppContext(config=self.config, store=self.store)
        self.service = SyncService(
            self.ctx,
            LinkSettings.from_config(self.config),
            idle_check_s=host.idle_check_s,
            health_interval_s=host.health_interval_s,
        )
        self.written = 0
        self.task: asyncio.Task[None] | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ctx.wakeups.bind(loop)
        self.store.on_commit_signal = self.ctx.wakeups.notify
        self.task = loop.create_task(self.service.run(), name=f"sync-{self.site}")

    @property
    def connected(self) -> bool:
        link = self.service.link
        return bool(link and link.connected)

    async def produce(self, rng: random.Random, rate: float, until: float) -> None:
        """Write events at ``rate`` per second (Poisson arrivals) until ``until`` (monotonic)."""
        outbox = EventOutbox(self.store)

        def write(stream: str, data: dict[str, Any]) -> None:
            with self.store.transaction():
                outbox.append(stream, data)

        # Never sleep past ``until``: with 5,000 sites at 0.05/s the longest of the last gaps
        # (mean 20 s) would otherwise stretch the run by minutes.
        next_at = time.monotonic() + rng.expovariate(rate)
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            stream = pick_stream(rng)
            await self.store.run(write, stream, event_data(stream, rng, self.written))
            self.written += 1
            next_at += rng.expovariate(rate)

    def figures(self) -> tuple[int, int]:
        """(unacknowledged events, highest ack seen) from the store (store thread)."""
        row = self.store.conn.execute("SELECT COUNT(*) FROM events WHERE acked_at IS NULL").fetchone()
        return int(row[0]), 0

    def seqs(self) -> dict[str, int]:
        rows = self.store.conn.execute("SELECT stream, last_seq FROM event_streams").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    async def stop(self) -> None:
        """Say offline and disconnect (as the daemon does on a clean stop), then end the service task."""
        await self.service.stop()
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=STOP_TIMEOUT_S)
            if not self.task.done():
                log.warning("site %s: the sync task did not end in %.0f s", self.site, STOP_TIMEOUT_S)
                for task in asyncio.all_tasks():
                    if not task.done() and task.get_name().startswith("sync"):
                        task.print_stack(file=sys.stderr)

    def close(self) -> None:
        self.store._executor = None
        self.store.close()


class SiteHost:
    """All sites of one process and the command loop that drives them."""

    def __init__(self, spec: HostSpec) -> None:
        self.spec = spec
        self.pool = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="fleet-store")
        self.sites = [FleetSite(s, spec, self.pool) for s in spec.sites]
        self.rng = random.Random(spec.seed)
        self.producers: list[asyncio.Task[None]] = []

    async def main(self, commands: asyncio.Queue[str]) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(STOP_THREADS, thread_name_prefix="fleet-io"))
        reply({"ready": len(self.sites)})
        starting = loop.create_task(self.start_sites(loop), name="fleet-start")
        while True:
            line = (await commands.get()).split()
            if not line:
                continue
            if line[0] == "quit":
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                for task in self.producers:
                    task.cancel()
                await asyncio.gather(*self.producers, return_exceptions=True)
                await asyncio.gather(*(s.stop() for s in self.sites), return_exceptions=True)
                self.pool.shutdown(wait=True)
                for site in self.sites:
                    site.close()
                reply({"bye": True})
                return
            reply(await self.command(line))

    async def start_sites(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start every site's sync part, ``connect_rate`` per second (all at once when 0)."""
        rate = self.spec.connect_rate
        started = time.monotonic()
        for i, site in enumerate(self.sites):
            if rate > 0:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            site.bind(loop)

    async def command(self, line: list[str]) -> dict[str, Any]:
        if line[0] == "status":
            backlog = 0
            for site in self.sites:
                unacked, _ = await site.store.run(site.figures)
                backlog += unacked
            relays = [s.service.relay for s in self.sites if s.service.relay is not None]
            return {
                "connected": sum(1 for s in self.sites if s.connected),
                "backlog": backlog,
                "written": sum(s.written for s in self.sites),
                "downlink_applied": sum(s.service.downlink_applied for s in self.sites),
                "published": sum(r.published_total for r in relays),
                "resends": sum(r.resends for r in relays),
                "gap_resends": sum(r.gap_resends for r in relays),
            }
        if line[0] == "go":
            seconds, rate = float(line[1]), float(line[2])
            until = time.monotonic() + seconds
            self.producers = [
                asyncio.get_running_loop().create_task(s.produce(random.Random(self.rng.random()), rate, until))
                for s in self.sites
            ]
            return {"ok": True}
        if line[0] == "produced":
            done = all(t.done() for t in self.producers)
            failed = [repr(t.exception()) for t in self.producers if t.done() and t.exception()]
            return {"done": done, "written": sum(s.written for s in self.sites), "failed": failed[:3]}
        if line[0] == "sent":
            out = {}
            for site in self.sites:
                out[site.site] = await site.store.run(site.seqs)
            return {"sent": out}
        return {"error": f"unknown command {line[0]!r}"}


def reply(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack to the log
    threading.stack_size(512 * 1024)  # thousands of paho threads: small stacks
    spec = HostSpec.from_json(sys.stdin.readline())
    if spec.nice:
        os.nice(spec.nice)
    sys.setswitchinterval(spec.switch_interval_s)
    loop = asyncio.new_event_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for text in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, text)
        loop.call_soon_threadsafe(commands.put_nowait, "quit")

    host = SiteHost(spec)
    threading.Thread(target=read_stdin, name="fleet-commands", daemon=True).start()
    try:
        loop.run_until_complete(host.main(commands))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
