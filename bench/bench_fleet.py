"""Fleet figures: events/s stored and end-to-end latency against workers and sites; reconnect storm.

Each row is one ``appliance-central fleet`` run (sync/fleet/run.py): N sites on
the appliance's own sync code, W central workers on a private Mosquitto and a
private PostgreSQL (durable: fsync on), a realistic stream mix at RATE events/s
per site for SECONDS, a contact and a notification pushed to every site, then
the drain. The storm rows SIGKILL and restart the broker mid-run with every
site connected: ``reconnect_all_s`` is the time until all sites are back,
``drain_s`` until every backlog is acknowledged.

    .venv/bin/python bench/bench_fleet.py                       # the BENCHMARKS.md table
    .venv/bin/python bench/bench_fleet.py --sites 100 --workers 1 2 4 --seconds 20
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
    "pg_bytes_per_event",
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="*", default=None)
    parser.add_argument("--workers", type=int, nargs="*", default=None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=None, help="events/s per site (default: 1,000/s in all)")
    parser.add_argument("--storm", action="store_true", help="restart the broker at half time in every run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan: list[tuple[int, int, bool]] = []
    if args.sites is None and args.workers is None:
        plan += [(1000, w, False) for w in (1, 2, 4)]
        plan += [(100, 2, False), (5000, 2, False), (1000, 2, True), (5000, 2, True)]
    else:
        plan += [(n, w, args.storm) for n in args.sites or [1000] for w in args.workers or [2]]
    print(" | ".join(COLUMNS))
    for sites, workers, storm in plan:
        rate = args.rate if args.rate is not None else 1000.0 / sites
        result = run_fleet(
            FleetOptions(
                sites=sites,
                workers=workers,
                seconds=args.seconds,
                rate=rate,
                restart_broker_at=args.seconds / 2 if storm else None,
                drain_timeout=900,
            )
        )
        if args.json:
            print(json.dumps(result), flush=True)
        print(" | ".join(str(result.get(c, "-")) for c in COLUMNS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
