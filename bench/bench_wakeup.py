"""``appliance sms send`` while the daemon runs: seconds from the commit to "sent".

Run: ``.venv/bin/python bench/bench_wakeup.py [--trials N]``. Starts ``appliance run`` with the
simulated modem in a temp dir, sends N messages one after another with the CLI and prints the
median and worst time from each message's commit (``created_at``) to the modem accepting it
(``sent_at``; the simulated modem answers +CMGS in 50 ms).
Without the wake-up socket the daemon found them at its next outbox poll (up to 5 s).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.timefmt import parse_time
from tests.helpers import Daemon, run_cli


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bw", dir="/tmp") as tmp:
        data_dir = Path(tmp)
        daemon = Daemon(data_dir, APPLIANCE_MODEM__SEND_INTERVAL="0", APPLIANCE_MODEM__SIM_CMGS_DELAY="0.05").start()
        try:
            daemon.wait_healthy()
            time.sleep(6)  # past the first outbox poll
            times = []
            db = sqlite3.connect(str(data_dir / "appliance.db"), timeout=5)
            for i in range(args.trials):
                out = run_cli(data_dir, "sms", "send", "--to", "+358401234567", "--text", f"bench {i}", "--json")
                done = time.monotonic()  # the CLI has exited: its commit and its datagram are out
                message_id = json.loads(out.stdout)["id"]
                while True:
                    status, created, sent = db.execute(
                        "SELECT status, created_at, sent_at FROM sms_messages WHERE id = ?", (message_id,)
                    ).fetchone()
                    if status in ("sent", "delivered") or time.monotonic() - done > 30:
                        break
                    time.sleep(0.01)
                times.append((parse_time(sent) - parse_time(created)).total_seconds())
            db.close()
        finally:
            daemon.kill()
    print("| trials | median s | worst s |")
    print("|---|---|---|")
    print(f"| {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
