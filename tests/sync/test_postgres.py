"""The reference central on PostgreSQL (a private cluster, see conftest), two instances sharing the load."""

from __future__ import annotations

from collections.abc import Callable

from sync.central.db import open_db
from sync.central.server import CentralServer
from tests.sync.conftest import SITE, InProcessAppliance, wait_until
from tests.sync.mosquitto import Mosquitto


def test_two_central_instances_on_postgresql_share_the_load(
    broker: Mosquitto,
    central_factory: Callable[..., CentralServer],
    appliance_factory: Callable[..., InProcessAppliance],
    pg_url: str,
) -> None:
    first = central_factory(broker.port, pg_url, client_id="central-1")
    second = central_factory(broker.port, pg_url, client_id="central-2")
    app_a = appliance_factory(broker.port, site="site-a")
    app_b = appliance_factory(broker.port, site="site-b")
    for app in (app_a, app_b):
        app.append("survey_reply", 1500)
    wait_until(lambda: app_a.backlog() == 0 and app_b.backlog() == 0, 120, "both sites acknowledged")
    db = open_db(pg_url)
    try:
        for site in ("site-a", "site-b"):
            events = db.events(site, "survey_reply")
            assert [e.seq for e in events] == list(range(1, 1501))
            assert [e.data["i"] for e in events] == list(range(1500))
        stats = {(r["site"], r["stream"]): r for r in db.stats()}
        assert stats[("site-a", "survey_reply")]["watermark"] == 1500
        assert stats[("site-b", "survey_reply")]["missing"] == 0
    finally:
        db.close()
    assert first.counters.received > 0 and second.counters.received > 0, "the shared subscription spread the load"
    assert SITE == "site-a"
