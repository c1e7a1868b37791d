"""Fleet figures: events/s stored and end-to-end latency against workers and sites; reconnect storm.

Each row is one ``appliance-central fleet`` run (sync/fleet/run.py): N sites on
the appliance's own sync code, W central workers on a private Mosquitto and a
private PostgreSQL (durable: fsync on), a realistic stream mix offered at
``--total`` events/s by all sites together (``--total / N`` per site) for
SECONDS, a contact and a notification pushed to every site, then the drain.
Sites start paced (200/s) and their processes run at nice 10, below the
broker, the workers and PostgreSQL; ``cpu_s_*`` is each process group's CPU
from the first event to the drain, ``load_*`` the 1-minute load average.

The storm rows SIGKILL the broker ``--broker-down`` s before the sites stop
writing and start it again: every site reconnects at once (the daemon's own
1 s ± 30 % back-off) with what it wrote meanwhile. ``reconnect_all_s`` is the
time until all sites are back, ``restart_to_drained_s`` until every backlog is
acknowledged too.

    .venv/bin/python bench/bench_fleet.py                       # the BENCHMARKS.md table
    .venv/bin/python bench/bench_fleet.py --sites 100 --workers 1 2 4 --seconds 20
    .venv/bin/python bench/bench_fleet.py --sites 5000 --workers 2 --storm
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync.fleet.run import FleetOptions, run_fleet

COLUMNS = (
    "sites", "workers", "rate_per_site", "events_sent", "events_stored", "lost", "duplicates_stored", "gaps",
    "offered_per_s", "events_per_s", "latency_p50_ms", "latency_p99_ms", "drain_s", "reconnect_all_s",
    "restart_to_drained_s", "storm_cpu_s_sites", "storm_cpu_s_broker", "storm_cpu_s_workers",
    "pg_bytes_per_event", "cpu_s_sites", "cpu_s_broker", "cpu_s_workers",
    "cpu_s_postgresql", "connect_s", "load_at_start", "load_at_end",
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="*", default=None)
    parser.add_argument("--workers", type=int, nargs="*", default=None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=None, help="events/s per site (default: --total / sites)")
    parser.add_argument("--total", type=float, default=250.0, help="events/s offered by all sites together")
    parser.add_argument("--storm", action="store_true", help="SIGKILL the broker near the end of every run")
    parser.add_argument("--broker-down", type=float, default=5.0, help="seconds the killed broker stays down")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan: list[tuple[int, int, bool]] = []
    if args.sites is None and args.workers is None:
        plan += [(n, w, False) for n in (100, 1000, 5000) for w in (1, 2, 4)]
        plan += [(1000, 2, True), (5000, 2, True)]
    else:
        plan += [(n, w, args.storm) for n in args.sites or [1000] for w in args.workers or [2]]
    print(" | ".join(COLUMNS))
    for sites, workers, storm in plan:
        rate = args.rate if args.rate is not None else args.total / sites
        # The storm: the broker is SIGKILLed --broker-down s before the sites stop writing, so every
        # site reconnects at once with what it wrote meanwhile in its outbox.
        result = run_fleet(
            FleetOptions(
                sites=sites,
                workers=workers,
                seconds=args.seconds,
                rate=rate,
                restart_broker_at=max(1.0, args.seconds - args.broker_down) if storm else None,
                broker_down_s=args.broker_down,
                drain_timeout=900,
            )
        )
        if args.json:
            print(json.dumps(result), flush=True)
        print(" | ".join(str(result.get(c, "-")) for c in COLUMNS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
