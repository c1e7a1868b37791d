"""A flood of anonymous bad logins must not stall the store thread, /healthz or the watchdog."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.helpers import Daemon, run_cli

FLOOD = 150


def _bad_login(daemon: Daemon, statuses: list[int], barrier: threading.Barrier) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        page = opener.open(daemon.url("/login"), timeout=30).read().decode()
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token
        form = urllib.parse.urlencode({"username": "tech", "password": "guess", "csrf_token": token.group(1)})
        barrier.wait(timeout=30)
        opener.open(daemon.url("/login"), data=form.encode(), timeout=30)
        statuses.append(200)
    except urllib.error.HTTPError as err:
        statuses.append(err.code)
    except (OSError, threading.BrokenBarrierError):
        statuses.append(-1)


def test_anonymous_login_flood_leaves_healthz_answering(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin="correct horse\n").returncode == 0
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__DRIVER="none", APPLIANCE_LINE__DRIVER="none").start()
    try:
        daemon.wait_healthy()
        statuses: list[int] = []
        barrier = threading.Barrier(FLOOD)
        threads = [threading.Thread(target=_bad_login, args=(daemon, statuses, barrier)) for _ in range(FLOOD)]
        for t in threads:
            t.start()
        health: list[tuple[int, float]] = []
        while any(t.is_alive() for t in threads) or len(health) < 10:
            start = time.monotonic()
            try:
                code, _ = daemon.get("/healthz", timeout=5)
            except OSError:
                code = -1
            health.append((code, time.monotonic() - start))
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert len(statuses) == FLOOD
        assert set(statuses) <= {401, 429}, sorted(set(statuses))
        assert statuses.count(429) > 0  # refused at once, not queued
        assert all(code == 200 for code, _ in health), health
        assert max(s for _, s in health) < 2.0, max(s for _, s in health)
        assert daemon.get("/healthz")[0] == 200
        assert "guess" not in daemon.log()  # no password in the log
    finally:
        daemon.kill()
