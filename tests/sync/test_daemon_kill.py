"""The real daemon (``appliance run``) SIGKILLed mid-stream: nothing lost, nothing doubled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.store.db import Store
from appliance.store.outbox import EventOutbox
from sync.central.server import CentralServer
from tests.helpers import Daemon
from tests.sync.conftest import SITE, USERS, Listener, central_events, daemon_sync_env, wait_until
from tests.sync.mosquitto import Mosquitto


def _append(db_path: Path, stream: str, start: int, count: int) -> None:
    store = Store.open(db_path)
    try:
        outbox = EventOutbox(store)
        for lo in range(start, start + count, 500):
            with store.transaction():
                for i in range(lo, min(lo + 500, start + count)):
                    outbox.append(stream, {"i": i})
    finally:
        store.close()


def test_daemon_sigkilled_mid_stream_loses_nothing(
    broker: Mosquitto, central_factory: Callable[..., CentralServer], tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central = central_factory(broker.port, db_url)
    data_dir = tmp_path / "daemon"
    data_dir.mkdir()
    env = daemon_sync_env(broker.port, SITE, USERS[SITE])
    db_path = data_dir / "appliance.db"
    _append(db_path, "complaint", 0, 4000)
    daemon = Daemon(data_dir, **env).start()
    status_topic = f"lab/v1/{SITE}/status"
    watcher = Listener(broker.port, "central", USERS["central"], [status_topic])
    try:
        daemon.wait_healthy()
        wait_until(lambda: central.counters.stored >= 300, 60, "events flowing from the daemon")
        daemon.kill()  # SIGKILL mid-stream
        wait_until(
            lambda: any(m.get("online") is False for m in watcher.json_on(status_topic)), 30, "the will: offline"
        )
        stored_at_kill = central.counters.stored
        _append(db_path, "complaint", 4000, 1000)
        daemon = Daemon(data_dir, **env).start()
        daemon.wait_healthy()
        wait_until(lambda: len(central_events(db_url, SITE, "complaint")) == 5000, 120, "all 5000 events stored")
        events = central_events(db_url, SITE, "complaint")
        assert [e.seq for e in events] == list(range(1, 5001))
        assert [e.data["i"] for e in events] == list(range(5000))
        assert len({e.id for e in events}) == 5000
        store = Store.open(db_path)
        try:
            wait_until(lambda: EventOutbox(store).backlog()["unacked"] == 0, 60, "appliance backlog acknowledged")
        finally:
            store.close()
        print(
            f"daemon SIGKILL: 5000 events, {stored_at_kill} stored before the kill, "
            f"{central.counters.duplicates} duplicates dropped by id"
        )
    finally:
        watcher.close()
        daemon.kill()


def test_appliance_status_shows_sync_health_and_disk_full(broker: Mosquitto, tmp_path: Path) -> None:
    import json

    from tests.helpers import run_cli

    data_dir = tmp_path / "daemon"
    data_dir.mkdir()
    env = {
        "APPLIANCE_MQTT__ENABLED": "true",
        "APPLIANCE_MQTT__PORT": str(broker.port),
        "APPLIANCE_MQTT__USERNAME": SITE,
        "APPLIANCE_MQTT__PASSWORD": USERS[SITE],
        "APPLIANCE_SITE__ID": SITE,
        "APPLIANCE_MODEM__DRIVER": "none",
        "APPLIANCE_LINE__DRIVER": "none",
        "APPLIANCE_STORAGE__MIN_FREE_MB": "100000",  # more than the test disk has free: "disk full"
    }
    daemon = Daemon(data_dir, **env).start()
    try:
        # /healthz answers 503 here (the store is not writable with so little room): wait for an answer.
        def answers() -> bool:
            try:
                return daemon.get("/healthz", timeout=2)[0] in (200, 503)
            except OSError:
                return False

        wait_until(answers, 30, "the daemon's web face")

        def sync_part() -> dict:
            out = run_cli(data_dir, "status", "--json", **{**env, "APPLIANCE_WEB__LISTEN": f"127.0.0.1:{daemon.port}"})
            assert out.returncode == 0, out.stderr
            return dict(json.loads(out.stdout)["parts"]["sync"])

        wait_until(lambda: sync_part().get("detail", "").startswith("disk full"), 30, "disk full in appliance status")
        part = sync_part()
        assert part["state"] == "degraded"
        assert part["info"]["connected"] is True
        assert {"backlog", "oldest_unsent", "last_ack", "refused_downlinks"} <= set(part["info"])
    finally:
        daemon.kill()
