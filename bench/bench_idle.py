"""The daemon at rest: resident memory and CPU with embedded defaults (simulated devices).

Starts `appliance run` in a temp data dir, lets it settle, then samples
/proc/<pid> over a window. Prints one table row per figure.
Usage: python bench/bench_idle.py [--settle S] [--window S] [--env KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import Daemon

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the daemon")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(Path(tmp), **extra).start()
        try:
            daemon.wait_healthy(60)
            assert daemon.proc is not None
            pid = daemon.proc.pid
            time.sleep(args.settle)
            cpu0, t0 = _cpu_seconds(pid), time.monotonic()
            peak = 0
            while time.monotonic() - t0 < args.window:
                peak = max(peak, _rss_kib(pid))
                time.sleep(1.0)
            cpu1, t1 = _cpu_seconds(pid), time.monotonic()
            rss = _rss_kib(pid)
            print(f"| idle daemon ({', '.join(args.env) or 'embedded defaults'}) | RSS {rss / 1024:.1f} MiB "
                  f"(peak {peak / 1024:.1f} MiB) | CPU {100 * (cpu1 - cpu0) / (t1 - t0):.2f} % of one core "
                  f"over {t1 - t0:.0f} s |")
        finally:
            daemon.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
