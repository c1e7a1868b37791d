"""Operations: journald priorities without systemd-python, the clock without RTC, retention, the daemon part."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.daemon.logsetup import syslog_priority
from appliance.ops import clock
from appliance.ops.retention import run_retention
from appliance.ops.service import recorded_floor, start_checks
from appliance.store import db as store_db
from appliance.store.db import Store, utcnow
from appliance.store.outbox import EventOutbox
from tests.helpers import REPO, running_daemon

JOURNAL_SCRIPT = """
import logging, os, sys
sys.modules["systemd"] = None  # no systemd-python: the fallback path
st = os.fstat(2)
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
from appliance.daemon.logsetup import setup_logging
setup_logging("debug")
log = logging.getLogger("t")
log.debug("d"); log.info("i"); log.warning("w"); log.error("e"); log.critical("c")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("boom")
"""


def test_journald_fallback_writes_syslog_priorities() -> None:
    result = subprocess.run([sys.executable, "-c", JOURNAL_SCRIPT], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    lines = result.stderr.splitlines()
    assert lines[:5] == ["<7>t: d", "<6>t: i", "<4>t: w", "<3>t: e", "<2>t: c"], result.stderr
    assert all(ln.startswith("<3>") for ln in lines[5:]) and len(lines) > 7  # the traceback too
    assert [syslog_priority(n) for n in (5, 10, 15, 20, 30, 40, 50, 60)] == [7, 7, 7, 6, 4, 3, 2, 2]


def test_cclk_and_network_time() -> None:
    assert clock.parse_cclk('+CCLK: "26/11/22,14:03:09+08"') == datetime(2026, 11, 22, 12, 3, 9, tzinfo=UTC)
    assert clock.parse_cclk('+CCLK: "26/11/22,14:03:09-20"') == datetime(2026, 11, 22, 19, 3, 9, tzinfo=UTC)
    assert clock.parse_cclk("ERROR") is None
    now = datetime(2026, 11, 22, 12, 3, 0, tzinfo=UTC)
    assert not clock.note_network_time('+CCLK: "04/01/01,00:00:05+00"', now)  # a modem's default, ignored
    assert clock.note_network_time('+CCLK: "26/11/22,14:03:09+08"', now)


def test_clock_state_behind_the_floor_is_untrusted_and_says_so() -> None:
    floor = datetime(2026, 12, 1, tzinfo=UTC)
    state = clock.clock_state(floor, now=datetime(1970, 1, 1, 0, 0, 42, tzinfo=UTC))
    assert not state["trusted"] and "1970-01-01" in state["detail"] and "no RTC" in state["detail"]


def test_stamps_never_go_behind_the_floor() -> None:
    future = datetime.now(UTC) + timedelta(days=400)
    store_db.set_clock_floor(future)
    try:
        assert utcnow().startswith(future.strftime("%Y-%m-%dT"))
    finally:
        store_db.set_clock_floor(None)
    assert utcnow() < future.isoformat()


def test_the_floor_comes_from_what_is_recorded(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        assert recorded_floor(store) >= clock.BUILD_FLOOR
        with store.transaction():
            store.conn.execute("INSERT INTO event_streams(stream, last_seq) VALUES ('x', 1)")
            store.conn.execute("INSERT INTO events(id, stream, seq, ts, data) VALUES "
                               "('a', 'x', 1, '2031-05-01T10:00:00.000Z', '{}')")
        assert recorded_floor(store) == datetime(2031, 5, 1, 10, tzinfo=UTC)
        try:
            assert start_checks(store, "lab") == datetime(2031, 5, 1, 10, tzinfo=UTC)
            with store.transaction():
                event = EventOutbox(store).append("x", {})
            assert event.ts == "2031-05-01T10:00:00.000Z"  # not today's (earlier) clock
        finally:
            store_db.set_clock_floor(None)
    finally:
        store.close()


def _config(tmp_path: Path, **env: str) -> object:
    return load_config(None, {"APPLIANCE_STORAGE__PATH": str(tmp_path / "appliance.db"),
                              "APPLIANCE_STORAGE__MIN_FREE_MB": "1", **env})


def test_retention_removes_only_old_finished_things_and_bounds_recordings(tmp_path: Path) -> None:
    config = _config(tmp_path, APPLIANCE_RETENTION__RECORDINGS_MAX_MB="1")
    store = Store.open(tmp_path / "appliance.db")
    old, new = "2020-01-01T00:00:00.000Z", utcnow()
    try:
        with store.transaction():
            for i, (status, ts) in enumerate([("delivered", old), ("queued", old), ("received", old),
                                              ("delivered", new), ("failed", old)]):
                store.conn.execute(
                    "INSERT INTO sms_messages(id, box, number, text, status, created_at, updated_at) "
                    "VALUES (?, ?, '+358401234567', 't', ?, ?, ?)",
                    (i + 1, "inbox" if status == "received" else "outbox", status, ts, ts),
                )
            store.conn.execute("INSERT INTO sms_parts(message_id, part) VALUES (1, 1)")
            for i in range(5):
                EventOutbox(store).append("call", {"i": i})
        EventOutbox(store).acknowledge("call", 3)
        with store.transaction():
            store.conn.execute("UPDATE events SET acked_at = ? WHERE seq <= 2", (old,))
        rec = tmp_path / "recordings" / "2026"
        rec.mkdir(parents=True)
        for i in range(6):  # 6 x 300 KB, 1 MiB allowed: the oldest three go
            path = rec / f"call-{i}.wav"
            path.write_bytes(b"\0" * 300_000)
            os.utime(path, (time.time() - 1000 + i, time.time() - 1000 + i))
        ancient = rec / "ancient.wav"
        ancient.write_bytes(b"\0" * 10)
        os.utime(ancient, (0, 0))
        done = run_retention(store, config)
        assert done["removed"] == {"events": 2, "messages": 3, "recordings": 4}
        left = sorted(r[0] for r in store.conn.execute("SELECT id FROM sms_messages"))
        assert left == [2, 4]  # the queued one stays however old; the new one stays
        assert [r[0] for r in store.conn.execute("SELECT seq FROM events ORDER BY seq")] == [3, 4, 5]
        assert sorted(p.name for p in rec.iterdir()) == ["call-3.wav", "call-4.wav", "call-5.wav"]
        (removed,) = store.conn.execute("SELECT removed FROM retention_runs").fetchone()
        assert json.loads(removed)["messages"] == 3
    finally:
        store.close()


def test_the_daemon_runs_the_field_part(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            parts = json.loads(daemon.get("/healthz")[1])["parts"]
            if parts.get("clock") in ("ok", "degraded") and (tmp_path / "uplink-highwater.json").exists():
                break
            time.sleep(0.3)
        assert parts.get("clock") in ("ok", "degraded"), parts
        assert daemon.terminate() == 0
    highwater = json.loads((tmp_path / "uplink-highwater.json").read_text())
    assert highwater["site"] and isinstance(highwater["streams"], dict)


@pytest.mark.parametrize("value", ["0", "abc"])
def test_retention_keys_are_checked(tmp_path: Path, value: str) -> None:
    from appliance.errors import ConfigError

    with pytest.raises(ConfigError, match=r"retention\.events_days"):
        load_config(None, {"APPLIANCE_RETENTION__EVENTS_DAYS": value})


def test_the_gsm_network_time_makes_the_clock_trusted(tmp_path: Path) -> None:
    from appliance.modem.simulator import SimulatedModem

    with SimulatedModem("ec25") as sim, running_daemon(
        tmp_path, APPLIANCE_MODEM__DRIVER="serial", APPLIANCE_MODEM__PORT=sim.path,
    ) as daemon:
        deadline = time.monotonic() + 30
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            out = subprocess.run([sys.executable, "-m", "appliance", "status", "--json"], env=daemon.env,
                                 capture_output=True, text=True, timeout=60, cwd=tmp_path)
            status = json.loads(out.stdout)["parts"].get("clock", {})
            if status.get("state") == "ok":
                break
            time.sleep(1)
        assert status.get("state") == "ok", status
        assert "GSM network" in str(status.get("detail")) or "NTP" in str(status.get("detail"))
