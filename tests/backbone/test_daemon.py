"""`appliance run` as systemd runs it: READY, watchdog, /healthz, clean SIGTERM, SIGKILL safety."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sqlite3
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.helpers import Daemon, NotifyListener, run_cli


def test_ready_watchdog_healthz_and_clean_sigterm(tmp_path: Path) -> None:
    notify = NotifyListener(tmp_path)
    daemon = Daemon(tmp_path, notify, WATCHDOG_USEC="1000000").start()
    try:
        assert notify.wait_for("READY=1", timeout=30), daemon.log()
        health = daemon.wait_healthy()
        assert health["status"] == "ok"
        status, body = daemon.get("/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        first = notify.count("WATCHDOG=1")
        notify.poll(3.0)
        assert notify.count("WATCHDOG=1") >= first + 3, notify.messages  # every 0.5 s
        started = time.monotonic()
        assert daemon.terminate(timeout=10) == 0, daemon.log()
        assert time.monotonic() - started < 10
        assert "Traceback" not in daemon.log()
    finally:
        daemon.kill()
        notify.close()


def test_sigint_also_stops_cleanly(tmp_path: Path) -> None:
    import signal

    daemon = Daemon(tmp_path).start()
    try:
        daemon.wait_healthy()
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.proc.wait(10) == 0
    finally:
        daemon.kill()


def test_metrics_are_prometheus_text(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path).start()
    try:
        daemon.wait_healthy()
        status, body = daemon.get("/metrics")
        text = body.decode()
        assert status == 200
        assert re.search(r'^appliance_service_up\{service="web"\} 1\.0$', text, re.M)
        assert re.search(r"^appliance_events_unacked \d", text, re.M)
        assert "# TYPE appliance_info gauge" in text
    finally:
        daemon.kill()


def test_status_reports_the_running_daemon(tmp_path: Path) -> None:
    line_sim = {"APPLIANCE_LINE__DRIVER": "sim"}
    daemon = Daemon(tmp_path, **line_sim).start()
    try:
        daemon.wait_healthy()
        deadline = time.monotonic() + 20
        cli_env = {"APPLIANCE_WEB__LISTEN": f"127.0.0.1:{daemon.port}", **line_sim}
        while True:
            result = run_cli(tmp_path, "status", "--json", **cli_env)
            assert result.returncode == 0, result.stderr
            status = json.loads(result.stdout)
            line_up = status["parts"].get("line", {}).get("state") == "ok"
            if (status["daemon"]["running"] and line_up) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status["daemon"]["running"] is True
        assert status["daemon"]["healthz"]["status"] == "ok"
        assert status["parts"]["web"]["state"] == "ok"
        assert status["store"]["schema_version"] >= 2
        assert "line" in status["simulated"]
        line = next(r for r in run_cli(tmp_path, "status", **cli_env).stdout.splitlines() if r.startswith("line "))
        assert line.count("SIMULATED") == 1, line  # the part's own detail says it; the CLI does not add a second
        daemon.terminate()
        result = run_cli(tmp_path, "status", "--json")
        assert json.loads(result.stdout)["daemon"]["running"] is False
        human = run_cli(tmp_path, "status")
        assert "NOT RUNNING" in human.stdout
    finally:
        daemon.kill()


def test_second_daemon_on_a_taken_port_keeps_retrying_web(tmp_path: Path) -> None:
    """A part that fails (port taken) is restarted with back-off; the daemon stays up."""
    first = Daemon(tmp_path / "a").start()
    try:
        first.wait_healthy()
        second = Daemon(tmp_path / "b", APPLIANCE_WEB__LISTEN=f"127.0.0.1:{first.port}").start()
        try:
            deadline = time.monotonic() + 30  # start-up is slower on a loaded machine: wait for the log
            while time.monotonic() < deadline and "restarts in" not in second.log():
                time.sleep(0.2)
            assert second.proc is not None and second.proc.poll() is None, second.log()
            assert "part web failed" in second.log() and "restarts in" in second.log()
            assert second.terminate() == 0
        finally:
            second.kill()
    finally:
        first.kill()


def _login(daemon: Daemon, user: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(daemon.url("/login"), timeout=5).read().decode()
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token, page
    form = urllib.parse.urlencode({"username": user, "password": password, "csrf_token": token.group(1)})
    resp = opener.open(daemon.url("/login"), data=form.encode(), timeout=10)
    assert resp.geturl().endswith("/"), resp.geturl()
    return opener


def test_event_committed_with_its_business_row_survives_sigkill(tmp_path: Path) -> None:
    """The daemon queues an SMS (row + sms_status event, one transaction); SIGKILL; both are there."""
    assert run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin="correct horse\n").returncode == 0
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__DRIVER="none").start()
    try:
        daemon.wait_healthy()
        opener = _login(daemon, "tech", "correct horse")
        session = json.loads(opener.open(daemon.url("/api/session"), timeout=5).read())
        ids = []
        for i in range(20):
            req = urllib.request.Request(
                daemon.url("/api/sms"),
                data=json.dumps({"to": "040 123 4567", "text": f"test {i}"}).encode(),
                headers={"Content-Type": "application/json", "X-CSRF-Token": session["csrf_token"]},
            )
            ids.append(json.loads(opener.open(req, timeout=10).read())["id"])
        daemon.kill()  # SIGKILL: no clean shutdown, no checkpoint
    finally:
        daemon.kill()
    conn = sqlite3.connect(tmp_path / "appliance.db")
    rows = conn.execute("SELECT id, number FROM sms_messages ORDER BY id").fetchall()
    events = conn.execute("SELECT seq, data FROM events WHERE stream = 'sms_status' ORDER BY seq").fetchall()
    conn.close()
    assert [r[0] for r in rows] == ids
    assert all(r[1] == "+358401234567" for r in rows)
    assert [json.loads(d)["message_id"] for _, d in events] == ids
    assert [s for s, _ in events] == list(range(1, 21))


def test_web_login_required(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin="correct horse\n").returncode == 0
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__DRIVER="none").start()
    try:
        daemon.wait_healthy()
        status, _ = daemon.get("/api/status")
        assert status == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(daemon.url("/"), timeout=5)
        assert page.geturl().endswith("/login")
        # a forged POST without the anti-forgery token is refused
        logged_in = _login(daemon, "tech", "correct horse")
        try:
            logged_in.open(daemon.url("/api/sms"), data=b"to=0401234567&text=x", timeout=5)
            raise AssertionError("POST without anti-forgery token was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 403
        # a wrong password gets the form again, not a session
        jar = http.cookiejar.CookieJar()
        bad = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page_text = bad.open(daemon.url("/login"), timeout=5).read().decode()
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_text)
        assert token
        form = urllib.parse.urlencode({"username": "tech", "password": "wrong", "csrf_token": token.group(1)})
        try:
            bad.open(daemon.url("/login"), data=form.encode(), timeout=10)
            raise AssertionError("wrong password accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        assert not any(c.name == "appliance_session" for c in jar)
    finally:
        daemon.kill()


def test_oversized_form_is_refused(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__DRIVER="none").start()
    try:
        daemon.wait_healthy()
        req = urllib.request.Request(daemon.url("/login"), data=b"username=" + b"a" * 200_000)
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("a 200 kB form was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 413
        assert daemon.get("/healthz")[0] == 200
    finally:
        daemon.kill()
