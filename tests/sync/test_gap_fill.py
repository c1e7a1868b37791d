"""Gap fill: what the broker dropped reaches the central within seconds, not after a grown back-off.

The appliance's resend timer is set to 60 s in both tests, so only the
central's ``resend`` acks (PROTOCOL.md, "Gap fill") can fill the gaps in time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sync.central.server import CentralServer
from tests.sync.conftest import InProcessAppliance, central_events, wait_until
from tests.sync.mosquitto import Mosquitto

SLOW_TIMER_S = 60.0  # the old timer-only path would take this long at least
FILL_WITHIN_S = 15.0


def assert_complete(db_url: str, site: str, stream: str, count: int) -> None:
    events = central_events(db_url, site, stream)
    assert [e.seq for e in events] == list(range(1, count + 1)), f"{site}/{stream}: seqs missing or extra"
    assert len({e.id for e in events}) == count


def test_gaps_left_by_a_dropping_broker_are_filled_while_the_central_is_online(
    broker_factory: Callable[..., Mosquitto],
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    # The central stalls for 3 s (its database locked) while connected; the broker's small
    # window towards it overflows and drops; the later events arrive above the gaps.
    broker = broker_factory(max_queued=200)
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(broker.port, db_url, receive_maximum=50)
    apps = [appliance_factory(broker.port, site=s, resend_first_s=SLOW_TIMER_S) for s in ("site-a", "site-b")]
    wait_until(lambda: all(a.connected for a in apps), 20, "sites connected")
    for app in apps:
        app.append("sms_in", 20)
        wait_until(lambda a=app: a.backlog() == 0, 30, "first events acknowledged")  # type: ignore[misc]
    lock = sqlite3.connect(str(tmp_path / "central.db"), timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        for app in apps:
            app.append("sms_in", 1000, start=20)
        time.sleep(3.0)
    finally:
        lock.rollback()
        lock.close()
    time.sleep(1.0)
    started = time.monotonic()
    for start in range(1020, 1120, 10):  # live events after the stall land above the gaps
        for app in apps:
            app.append("sms_in", 10, start=start)
        time.sleep(0.1)
    wait_until(lambda: all(a.backlog() == 0 for a in apps), 45, "every gap filled")
    took = time.monotonic() - started
    for site in ("site-a", "site-b"):
        assert_complete(db_url, site, "sms_in", 1120)
    assert "dropped" in broker.log(), "the broker must really have dropped messages"
    assert central.counters.resend_requests > 0, "the central asked for its gaps"
    assert sum(a.service.relay.gap_resends for a in apps if a.service.relay) > 0
    assert took < FILL_WITHIN_S, f"gaps took {took:.1f} s"
    print(f"online drops: 2 x 1120 events complete {took:.1f} s after the stall")


def test_central_back_after_the_broker_dropped_its_queue_gets_every_gap_within_seconds(
    broker_factory: Callable[..., Mosquitto],
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    tmp_path: Path,
) -> None:
    broker = broker_factory(max_queued=50)  # the broker keeps only 50 for the offline central
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    apps = [appliance_factory(broker.port, site=s, resend_first_s=SLOW_TIMER_S) for s in ("site-a", "site-b")]
    wait_until(lambda: all(a.connected for a in apps), 20, "sites connected")
    central = central_factory(broker.port, db_url)
    for app in apps:  # the central knows both streams before it goes away
        app.append("complaint", 10)
    wait_until(lambda: all(a.backlog() == 0 for a in apps), 30, "first events acknowledged")
    central.stop()
    for app in apps:
        app.append("complaint", 1500, start=10)
    wait_until(
        lambda: all(a.service.relay is not None and a.service.relay.published_total >= 1510 for a in apps),
        60,
        "all published while the central is away",
    )
    time.sleep(1.0)
    assert all(a.backlog() == 1500 for a in apps)
    started = time.monotonic()
    central_factory(broker.port, db_url)
    wait_until(lambda: all(a.backlog() == 0 for a in apps), FILL_WITHIN_S, "every gap filled after the return")
    took = time.monotonic() - started
    for site in ("site-a", "site-b"):
        assert_complete(db_url, site, "complaint", 1510)
    assert "dropped" in broker.log()
    print(f"central back: 2 x 1500 events complete {took:.1f} s after its return")
