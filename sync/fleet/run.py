"""``appliance-central fleet``: a private broker, W central workers and N simulated sites, measured.

:func:`run_fleet` starts a Mosquitto (or uses ``--broker``) with one user per
site and the ``%u`` ACL, a database (``--database`` or a private PostgreSQL
cluster, SQLite when no server binaries are installed), W ``appliance-central
serve`` processes sharing ``$share/central/...``, and the sites in a few
``python -m sync.fleet.sites`` processes. It lets the sites produce for S
seconds, pushes a contact and a notification to every site, optionally kills
a worker or restarts the broker on the way, waits for every backlog to drain,
and counts from the database: events stored, lost, duplicates, seq gaps and
the end-to-end latency (the appliance's event time to the central's commit).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from appliance.errors import UsageError
from appliance.store.db import Store
from sync.central.db import open_db
from sync.central.server import CentralSettings, make_client
from sync.envelope import encode, make
from sync.fleet.broker import CENTRAL_USER, Mosquitto
from sync.fleet.pgcluster import PgCluster, find_bin
from sync.fleet.sites import HostSpec, SiteSpec

log = logging.getLogger(__name__)

# Simulated sites per process (one asyncio loop, one paho thread each). paho waits on select(),
# which cannot watch descriptors above 1024, and each client holds three.
SITES_PER_HOST = 300
CONNECT_TIMEOUT_S = 60.0
CONNECT_RATE = 200.0
WORKER_START_TIMEOUT_S = 30.0
WORKER_RESTART_AFTER_S = 3.0
STATUS_EVERY_S = 1.0


@dataclass
class FleetOptions:
    sites: int
    workers: int = 2
    seconds: float = 30.0
    rate: float = 0.5  # events per second per site
    database: str | None = None
    broker: str | None = None  # HOST:PORT of an existing broker (its users and ACL are the operator's)
    hosts: int | None = None
    prefix: str = "lab/v1"
    kill_worker_at: float | None = None  # seconds into the run: SIGKILL worker 1, restart it 3 s later
    restart_broker_at: float | None = None  # seconds into the run: SIGKILL the broker, start it again
    broker_down_s: float = 0.5  # how long the killed broker stays down (sites keep writing meanwhile)
    drain_timeout: float = 600.0
    downlink: bool = True
    max_queued: int = 100_000
    site_env: dict[str, str] = field(default_factory=dict)
    keep: bool = False
    connect_rate: float = CONNECT_RATE  # sites started per second, in all (0: all at once)
    sites_per_host: int = SITES_PER_HOST
    idle_check_s: float = 30.0  # the relay's poll for other processes' rows (none in a simulated site)
    health_interval_s: float = 5.0
    nice: int = 10  # site processes below the broker, the central and the database


class Fleet:
    """The running parts; :meth:`close` stops whatever was started."""

    def __init__(self, opts: FleetOptions, say: Callable[[str], None]) -> None:
        if opts.sites < 1 or opts.workers < 1:
            raise UsageError("--sites and --workers must be at least 1")
        self.opts = opts
        self.say = say
        self.dir = Path(tempfile.mkdtemp(prefix="appliance-fleet-"))
        self.central_password = secrets.token_hex(12)
        self.site_ids = [f"site-{i:05d}" for i in range(1, opts.sites + 1)]
        self.passwords = {s: secrets.token_hex(8) for s in self.site_ids}
        self.broker: Mosquitto | None = None
        self.host, self.port = "127.0.0.1", 0
        self.pg: PgCluster | None = None
        self.db_url = ""
        self.workers: list[subprocess.Popen[bytes] | None] = []
        self.hosts: list[_HostProc] = []

    # -- parts -----------------------------------------------------------------

    def start_broker(self) -> None:
        if self.opts.broker:
            host, _, port = self.opts.broker.rpartition(":")
            if not host or not port.isdigit():
                raise UsageError(f"--broker {self.opts.broker!r}: expected HOST:PORT")
            self.host, self.port = host, int(port)
            return
        users = {CENTRAL_USER: self.central_password, **self.passwords}
        workdir = self.dir / "broker"
        workdir.mkdir()
        self.broker = Mosquitto(workdir, users, max_queued=self.opts.max_queued).start()
        self.port = self.broker.port

    def start_database(self) -> None:
        if self.opts.database:
            self.db_url = self.opts.database
        elif find_bin("initdb"):
            self.pg = PgCluster(durable=True, max_connections=max(100, self.opts.workers * 4 + 20)).start()
            self.db_url = self.pg.url
        else:
            self.db_url = f"sqlite:///{self.dir / 'central.db'}"
        open_db(self.db_url).close()  # tables created once, before concurrent workers

    def start_worker(self, index: int) -> subprocess.Popen[bytes]:
        logfile = (self.dir / f"worker-{index}.log").open("ab")
        cmd = [
            sys.executable, "-m", "sync.central.main", "serve",
            "--broker", f"{self.host}:{self.port}", "--db", self.db_url, "--prefix", self.opts.prefix,
            "--client-id", f"central-{index}", "--username", CENTRAL_USER,
        ]  # fmt: skip
        env = {**os.environ, "APPLIANCE_CENTRAL_PASSWORD": self.central_password}
        proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env)
        logfile.close()
        return proc

    def wait_worker_connected(self, index: int, since: int = 0) -> None:
        path = self.dir / f"worker-{index}.log"
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            text = path.read_text(errors="replace") if path.exists() else ""
            if text.count("connected, subscribed") > since:
                return
            time.sleep(0.1)
        raise RuntimeError(f"central worker {index} did not connect: {text[-2000:]}")

    def start_workers(self) -> None:
        for i in range(1, self.opts.workers + 1):
            self.workers.append(self.start_worker(i))
        for i in range(1, self.opts.workers + 1):
            self.wait_worker_connected(i)

    def start_sites(self) -> None:
        template = self.dir / "template.db"
        Store.open(template, min_free_mb=0).close()
        count = self.opts.hosts or max(1, math.ceil(self.opts.sites / self.opts.sites_per_host))
        for h in range(count):
            mine = self.site_ids[h::count]
            spec = HostSpec(
                host=self.host,
                port=self.port,
                sites=[SiteSpec(s, self.passwords[s]) for s in mine],
                workdir=str(self.dir / "sites"),
                template=str(template),
                prefix=self.opts.prefix,
                seed=h + 1,
                extra_env=self.opts.site_env,
                connect_rate=self.opts.connect_rate / count,
                idle_check_s=self.opts.idle_check_s,
                health_interval_s=self.opts.health_interval_s,
                nice=self.opts.nice,
            )
            self.hosts.append(_HostProc(spec, self.dir / f"sites-{h}.log"))
        for host in self.hosts:
            host.read()  # {"ready": n}

    def status(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for host in self.hosts:
            for key, value in host.ask("status").items():
                total[key] = total.get(key, 0) + int(value)
        return total

    def wait_connected(self, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.status()["connected"] == self.opts.sites:
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"only {self.status()['connected']} of {self.opts.sites} sites connected")

    def push_all(self, stream: str, make_data: Callable[[str], dict[str, Any]]) -> int:
        """One message on ``stream`` to every site, from one client (seqs from the database)."""
        settings = CentralSettings(host=self.host, port=self.port, db_url=self.db_url, topic_prefix=self.opts.prefix,
                                   username=CENTRAL_USER, password=self.central_password)
        db = open_db(self.db_url)
        try:
            first = db.reserve_down_seqs(stream, dict.fromkeys(self.site_ids, 1))
        finally:
            db.close()
        client = make_client(settings, f"fleet-push-{secrets.token_hex(4)}", manual_ack=False)
        client.connect(self.host, self.port, 30)
        client.loop_start()
        try:
            infos = [
                client.publish(f"{self.opts.prefix}/{site}/down/{stream}",
                               encode(make(stream, site, first[site], make_data(site))), qos=1)
                for site in self.site_ids
            ]
            for info in infos:
                info.wait_for_publish(60)
        finally:
            client.disconnect()
            client.loop_stop()
        return len(infos)

    def close(self) -> None:
        """Stop every part that was started (each step even when another failed)."""
        steps: list[tuple[str, Callable[[], None]]] = [(f"site host {i}", h.quit) for i, h in enumerate(self.hosts)]
        steps.append(("workers", self._stop_workers))
        if self.broker is not None:
            steps.append(("broker", self.broker.stop))
        if self.pg is not None:
            steps.append(("postgresql", self.pg.stop))
        for what, step in steps:
            try:
                step()
            except Exception as err:  # noqa: BLE001 - the other parts must still be stopped
                self.say(f"stopping the {what} failed: {err!r}")
        if not self.opts.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_workers(self) -> None:
        for proc in self.workers:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


class _HostProc:
    """One ``python -m sync.fleet.sites`` process and its command pipe."""

    def __init__(self, spec: HostSpec, log_path: Path) -> None:
        logfile = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync.fleet.sites"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=logfile,
        )
        logfile.close()
        self.log_path = log_path
        self._lock = threading.Lock()
        self._write(spec.to_json())

    def _write(self, line: str) -> None:
        stdin: IO[bytes] | None = self.proc.stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        stdin.flush()

    def read(self) -> dict[str, Any]:
        stdout = self.proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"site host exited ({self.proc.poll()}): {tail}")
        doc: dict[str, Any] = json.loads(line)
        return doc

    def ask(self, command: str) -> dict[str, Any]:
        with self._lock:
            self._write(command)
            return self.read()

    def quit(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(120)
            except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(10)


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its waited-for children (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds per process group (sites, broker, workers, postgresql) between two readings.

    A process that ends between the readings (a killed worker, a restarted broker) takes its
    seconds with it: those groups are then floors.
    """

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.start: dict[str, dict[int, float]] = {}

    def groups(self) -> dict[str, list[int]]:
        f = self.fleet
        pg: list[int] = []
        if f.pg is not None and f.pg.dir is not None:
            pid_file = f.pg.dir / "data" / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                postmaster = int(pid_file.read_text().split()[0])
                pg = [postmaster, *_children(postmaster)]
        return {
            "sites": [h.proc.pid for h in f.hosts],
            "broker": [f.broker.proc.pid] if f.broker is not None and f.broker.proc is not None else [],
            "workers": [w.pid for w in f.workers if w is not None],
            "postgresql": pg,
        }

    def read(self) -> dict[str, dict[int, float]]:
        return {group: {pid: _proc_cpu_s(pid) for pid in pids} for group, pids in self.groups().items()}

    def begin(self) -> None:
        self.start = self.read()

    def seconds(self) -> dict[str, float]:
        """CPU seconds per group since :meth:`begin` (processes born since count from zero)."""
        now = self.read()
        return {
            f"cpu_s_{group}": round(sum(t - self.start.get(group, {}).get(pid, 0.0) for pid, t in pids.items()), 1)
            for group, pids in now.items()
        }


def _parse_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000.0


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def count_stored(db_url: str, sent: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Stored, lost, duplicates, gaps and latency, from the central database."""
    db = open_db(db_url)
    try:
        cur = db.conn.cursor()
        cur.execute(
            "SELECT site, stream, COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT seq), MIN(seq), MAX(seq) "
            "FROM central_events GROUP BY site, stream"
        )
        rows = cur.fetchall()
        cur.execute("SELECT ts, received_at FROM central_events")
        latencies = sorted(max(0.0, _parse_ms(r) - _parse_ms(t)) for t, r in cur.fetchall())
        size: dict[str, Any] = {}
        if db.kind == "postgresql":
            cur.execute(
                "SELECT pg_total_relation_size('central_events'), pg_relation_size('central_events'), "
                "(SELECT COUNT(*) FROM central_events)"
            )
            total, heap, n = cur.fetchone()
            if n:
                size = {"pg_bytes_per_event": round(total / n), "pg_heap_bytes_per_event": round(heap / n)}
                # The other tables hold one row per site and stream (watermarks), per site (down seqs,
                # status): they do not grow with events.
                cur.execute(
                    "SELECT (SELECT COUNT(*) FROM central_streams), (SELECT COUNT(*) FROM central_down_seq), "
                    "(SELECT COUNT(*) FROM central_sites), pg_total_relation_size('central_streams') "
                    "+ pg_total_relation_size('central_down_seq') + pg_total_relation_size('central_sites')"
                )
                streams, down, sites, other = cur.fetchone()
                size.update({"pg_other_rows": int(streams) + int(down) + int(sites),
                             "pg_other_bytes": int(other)})  # fmt: skip
        db.conn.commit()
    finally:
        db.close()
    stored = duplicates = gaps = lost = 0
    seen: dict[tuple[str, str], int] = {}
    for site, stream, n, ids, seqs, low, high in rows:
        stored += int(ids)
        duplicates += int(n) - int(seqs)
        gaps += (int(high) - int(low) + 1) - int(seqs) + (int(low) - 1)
        seen[(site, stream)] = int(seqs)
    sent_total = 0
    for site, streams in sent.items():
        for stream, last in streams.items():
            sent_total += last
            lost += max(0, last - seen.get((site, stream), 0))
    return {
        "events_sent": sent_total,
        "events_stored": stored,
        "lost": lost,
        "duplicates_stored": duplicates,
        "gaps": gaps,
        "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        "latency_max_ms": round(latencies[-1], 1) if latencies else 0.0,
        **size,
    }


def run_fleet(opts: FleetOptions, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run one fleet as described in the module docstring; the figures as one dict."""
    say = say or (lambda text: print(f"fleet: {text}", file=sys.stderr, flush=True))
    fleet = Fleet(opts, say)
    result: dict[str, Any] = {"sites": opts.sites, "workers": opts.workers, "seconds": opts.seconds,
                              "rate_per_site": opts.rate}
    try:
        fleet.start_broker()
        fleet.start_database()
        result["database"] = fleet.db_url.split(":", 1)[0]
        fleet.start_workers()
        say(f"broker {fleet.host}:{fleet.port}, {opts.workers} workers, database {result['database']}")
        started = time.monotonic()
        fleet.start_sites()
        pace_s = opts.sites / opts.connect_rate if opts.connect_rate > 0 else 0.0
        result["connect_s"] = round(fleet.wait_connected(CONNECT_TIMEOUT_S + 3 * pace_s + opts.sites / 50), 1)
        say(f"{opts.sites} sites connected in {time.monotonic() - started:.1f} s")
        downlink = 0
        if opts.downlink:
            downlink += fleet.push_all("contacts", _contact)
        result["load_at_start"] = round(os.getloadavg()[0], 1)
        meter = CpuMeter(fleet)
        meter.begin()
        go = time.monotonic()
        for host in fleet.hosts:
            host.ask(f"go {opts.seconds} {opts.rate}")
        faults = _Faults(fleet, opts, go)
        pushed_notes = not opts.downlink
        while not all(h.ask("produced")["done"] for h in fleet.hosts):
            faults.tick()
            if not pushed_notes and time.monotonic() - go > opts.seconds / 2:
                downlink += fleet.push_all("notifications", _notification)
                pushed_notes = True
            time.sleep(0.2)
        faults.finish()
        produced_at = time.monotonic()
        say(f"produced for {produced_at - go:.1f} s; draining")
        while True:
            status = fleet.status()
            if status["backlog"] == 0 and status["downlink_applied"] >= downlink:
                break
            log.debug("drain: %s", status)
            if time.monotonic() - produced_at > opts.drain_timeout:
                say(f"drain timed out: {status}")
                break
            time.sleep(STATUS_EVERY_S)
        drained_at = time.monotonic()
        result.update(meter.seconds())
        result["load_at_end"] = round(os.getloadavg()[0], 1)
        if faults.restarted_at is not None:
            # The storm: from the broker's restart until every site is back and every backlog drained.
            result["restart_to_drained_s"] = round(drained_at - faults.restarted_at, 1)
        sent: dict[str, dict[str, int]] = {}
        for host in fleet.hosts:
            sent.update(host.ask("sent")["sent"])
        counts = count_stored(fleet.db_url, sent)
        result.update(counts)
        result.update({
            "hosts": len(fleet.hosts),
            "offered_per_s": round(counts["events_sent"] / max(0.001, produced_at - go), 1),
            "events_per_s": round(counts["events_stored"] / max(0.001, drained_at - go), 1),
            "drain_s": round(drained_at - produced_at, 1),
            "downlink_sent": downlink,
            "downlink_applied": status["downlink_applied"],
            "backlog_left": status["backlog"],
            "resends": status["resends"],
            "gap_resends": status["gap_resends"],
            **faults.figures,
        })  # fmt: skip
        return result
    finally:
        fleet.close()


class _Faults:
    """The optional worker kill and broker restart, at their times into the run."""

    def __init__(self, fleet: Fleet, opts: FleetOptions, go: float) -> None:
        self.fleet, self.opts, self.go = fleet, opts, go
        self.killed_at: float | None = None
        self.broker_done = opts.restart_broker_at is None
        self.kill_done = opts.kill_worker_at is None
        self.figures: dict[str, Any] = {}
        self.restarted_at: float | None = None

    def tick(self) -> None:
        now = time.monotonic() - self.go
        fleet = self.fleet
        if not self.kill_done and self.killed_at is None and now >= (self.opts.kill_worker_at or 0):
            proc = fleet.workers[0]
            assert proc is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            self.killed_at = now
            fleet.say(f"worker 1 killed at {now:.1f} s")
        if self.killed_at is not None and not self.kill_done and now >= self.killed_at + WORKER_RESTART_AFTER_S:
            fleet.workers[0] = fleet.start_worker(1)
            fleet.wait_worker_connected(1, since=1)
            self.kill_done = True
            self.figures["worker_killed_at_s"] = round(self.killed_at, 1)
        if not self.broker_done and now >= (self.opts.restart_broker_at or 0) and fleet.broker is not None:
            storm = CpuMeter(fleet)
            storm.begin()
            fleet.broker.kill()
            time.sleep(self.opts.broker_down_s)
            fleet.broker.start()
            restarted = self.restarted_at = time.monotonic()
            fleet.say(f"broker killed at {now:.1f} s, restarted {self.opts.broker_down_s:.1f} s later")
            fleet.wait_connected(CONNECT_TIMEOUT_S + self.opts.sites / 20)
            fleet.say(f"all {self.opts.sites} sites back in {time.monotonic() - restarted:.1f} s")
            self.figures["broker_restart_at_s"] = round(now, 1)
            self.figures["reconnect_all_s"] = round(time.monotonic() - restarted, 1)
            # What the storm cost, from the kill until every site is back (the new broker from zero).
            self.figures.update({f"storm_{k}": v for k, v in storm.seconds().items()})
            self.broker_done = True

    def finish(self) -> None:
        while not (self.kill_done and self.broker_done):
            self.tick()
            time.sleep(0.2)


def _contact(site: str) -> dict[str, Any]:
    return {
        "contact_id": f"{site}-c1",
        "version": 1,
        "contact": {"name": "Fleet Person", "phones": ["+358401234567"], "language": "fi",
                    "consents": {"sms": True, "call": False, "recording": False}},
    }


def _notification(site: str) -> dict[str, Any]:
    return {"notification_id": f"{site}-n1", "contact_id": f"{site}-c1", "channel": "sms",
            "template": "results_ready"}
