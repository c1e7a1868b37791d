"""Fixtures for the sync tests: a private Mosquitto, the reference central, an in-process appliance."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from appliance.config import Config, load_config
from appliance.daemon.context import AppContext
from appliance.store.db import Store
from appliance.store.outbox import EventOutbox
from appliance.sync.link import LinkSettings
from appliance.sync.service import SyncService
from appliance.sync.uplink import IDLE_CHECK_S
from sync.central.db import open_db
from sync.central.server import CentralServer, CentralSettings
from sync.fleet.pgcluster import PgCluster, find_bin
from tests.sync.mosquitto import CENTRAL_USER, Certs, Mosquitto, make_certs

USERS = {CENTRAL_USER: "central-secret", "site-a": "secret-a", "site-b": "secret-b"}
SITE = "site-a"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def broker_factory(tmp_path: Path, certs: Certs) -> Iterator[Callable[..., Mosquitto]]:
    started: list[Mosquitto] = []

    def make(**kw: Any) -> Mosquitto:
        workdir = tmp_path / f"broker{len(started)}"
        workdir.mkdir()
        broker = Mosquitto(workdir, USERS, certs=certs, **kw).start()
        started.append(broker)
        return broker

    yield make
    for b in started:
        b.kill()


@pytest.fixture
def broker(broker_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return broker_factory()


def central_settings(port: int, db_url: str, **kw: Any) -> CentralSettings:
    return CentralSettings(
        host="127.0.0.1",
        port=port,
        db_url=db_url,
        username=CENTRAL_USER,
        password=USERS[CENTRAL_USER],
        **kw,
    )


@pytest.fixture
def central_factory(tmp_path: Path) -> Iterator[Callable[..., CentralServer]]:
    running: list[CentralServer] = []

    def make(port: int, db_url: str | None = None, **kw: Any) -> CentralServer:
        url = db_url or f"sqlite:///{tmp_path / 'central.db'}"
        server = CentralServer(central_settings(port, url, **kw))
        server.start()
        running.append(server)
        assert server.wait_connected(15), "central did not connect"
        return server

    yield make
    for s in running:
        with contextlib.suppress(Exception):
            s.stop()


def appliance_config(data_dir: Path, port: int, site: str = SITE, **env: str) -> Config:
    environ = {
        "APPLIANCE_SITE__ID": site,
        "APPLIANCE_SITE__TIMEZONE": "Europe/Helsinki",
        "APPLIANCE_STORAGE__PATH": str(data_dir / "appliance.db"),
        "APPLIANCE_STORAGE__MIN_FREE_MB": "1",
        "APPLIANCE_MQTT__ENABLED": "true",
        "APPLIANCE_MQTT__PORT": str(port),
        "APPLIANCE_MQTT__USERNAME": site,
        "APPLIANCE_MQTT__PASSWORD": USERS.get(site, "wrong"),
        "APPLIANCE_NOTIFICATIONS__QUIET_HOURS": "",
        **env,
    }
    return load_config(None, environ)


class InProcessAppliance:
    """The real SyncService on its own asyncio loop in a thread, over a real store."""

    def __init__(
        self,
        config: Config,
        *,
        resend_first_s: float = 2.0,
        reconnect_max_s: float = 2.0,
        idle_check_s: float = IDLE_CHECK_S,
    ) -> None:
        self.config = config
        self.store = Store.open(config.db_path, min_free_mb=config.storage.min_free_mb)
        self.ctx = AppContext(config=config, store=self.store)
        settings = dataclasses.replace(
            LinkSettings.from_config(config), reconnect_first_s=0.5, reconnect_max_s=reconnect_max_s
        )
        self.service = SyncService(self.ctx, settings, resend_first_s=resend_first_s, idle_check_s=idle_check_s)
        self.loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="appliance-loop", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.ctx.wakeups.bind(self.loop)
        self.store.on_commit_signal = self.ctx.wakeups.notify
        self._task = self.loop.create_task(self.service.run())
        try:
            self.loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception as err:  # noqa: BLE001 - kept for the test to report
            self.error = err

    def start(self) -> InProcessAppliance:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            fut = asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop)
            with contextlib.suppress(Exception):
                fut.result(15)
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(20)
        self.loop.close()
        self.store.close()

    @property
    def connected(self) -> bool:
        link = self.service.link
        return bool(link and link.connected)

    def append(self, stream: str, count: int, start: int = 0, batch: int = 500) -> None:
        """``count`` events ``{"i": start..}`` on ``stream``, committed in batches."""
        outbox = EventOutbox(self.store)

        def write(lo: int, hi: int) -> None:
            with self.store.transaction():
                for i in range(lo, hi):
                    outbox.append(stream, {"i": i})

        for lo in range(start, start + count, batch):
            self.store.call(write, lo, min(lo + batch, start + count))
        self.ctx.wakeups.notify("events")

    def backlog(self) -> int:
        return int(self.store.call(EventOutbox(self.store).backlog)["unacked"])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.store.call(lambda: self.store.conn.execute(sql, params).fetchall())


@pytest.fixture
def appliance_factory(tmp_path: Path) -> Iterator[Callable[..., InProcessAppliance]]:
    running: list[InProcessAppliance] = []

    def make(port: int, site: str = SITE, data_dir: Path | None = None, **kw: Any) -> InProcessAppliance:
        directory = data_dir or tmp_path / f"appliance-{site}-{len(running)}"
        directory.mkdir(parents=True, exist_ok=True)
        env = kw.pop("env", {})
        app = InProcessAppliance(appliance_config(directory, port, site, **env), **kw).start()
        running.append(app)
        return app

    yield make
    for a in running:
        with contextlib.suppress(Exception):
            a.stop()


def central_events(db_url: str, site: str = SITE, stream: str | None = None) -> list[Any]:
    db = open_db(db_url)
    try:
        return db.events(site, stream)
    finally:
        db.close()


class Listener:
    """A plain MQTT client that records what it receives (for status, error and ACL checks)."""

    def __init__(self, port: int, username: str, password: str, topics: list[str], **tls: Any) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.refused: list[str] = []
        self.subscribed = threading.Event()
        self.grants: list[Any] = []
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(**tls)
        self._topics = topics

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            if rc.is_failure:
                self.refused.append(str(rc))
                return
            c.subscribe([(t, 1) for t in self._topics])

        def on_subscribe(_c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
            self.grants = list(codes)
            self.subscribed.set()

        def on_message(_c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
            self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()

    def json_on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in list(self.messages) if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


PG_URL_ENV = "APPLIANCE_TEST_POSTGRES"  # a server to use instead of a private cluster (optional)


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    """A PostgreSQL URL: ``$APPLIANCE_TEST_POSTGRES`` or a private cluster started for this session."""
    pytest.importorskip("psycopg")
    if os.environ.get(PG_URL_ENV):
        yield os.environ[PG_URL_ENV]
        return
    if find_bin("initdb") is None:
        pytest.skip("no PostgreSQL server binaries: scripts/system-deps.sh installs the postgresql package")
    with PgCluster(durable=False) as cluster:
        yield cluster.url


@contextlib.contextmanager
def postgres_schema_url(base: str) -> Iterator[str]:
    """A URL on ``base`` whose search_path is a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"central_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def pg_url(postgres_base: str) -> Iterator[str]:
    with postgres_schema_url(postgres_base) as url:
        yield url


def daemon_sync_env(broker_port: int, site: str, password: str) -> dict[str, str]:
    """Environment for an `appliance run` subprocess that syncs with the test broker and nothing else."""
    return {
        "APPLIANCE_MQTT__ENABLED": "true",
        "APPLIANCE_MQTT__PORT": str(broker_port),
        "APPLIANCE_MQTT__USERNAME": site,
        "APPLIANCE_MQTT__PASSWORD": password,
        "APPLIANCE_SITE__ID": site,
        "APPLIANCE_MODEM__DRIVER": "none",
        "APPLIANCE_LINE__DRIVER": "none",
        "APPLIANCE_STORAGE__MIN_FREE_MB": "1",
    }
