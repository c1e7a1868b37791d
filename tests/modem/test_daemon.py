"""``appliance run`` with the simulated modem, as a subprocess: CLI, SIGKILL mid-send, restart."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, run_cli

pytestmark = pytest.mark.slow


def sms_list(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    out = run_cli(data_dir, "sms", "list", "--json", *args)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def wait_for(predicate: Any, timeout: float, what: str, daemon: Daemon | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log() if daemon else ''}")


def test_cli_send_and_list_without_a_daemon(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "sms", "send", "--to", "040 123 4567", "--text", "Tulokset valmiina €")
    assert out.returncode == 0, out.stderr
    first = int(out.stdout.strip())
    out = run_cli(tmp_path, "sms", "send", "--to", "+46701234567", "--text", "x" * 200, "--json")
    doc = json.loads(out.stdout)
    assert doc["status"] == "queued" and doc["id"] == first + 1
    bad = run_cli(tmp_path, "sms", "send", "--to", "12ab", "--text", "x")
    assert bad.returncode == 2 and "12ab" in bad.stderr and bad.stdout == ""
    rows = sms_list(tmp_path, "--box", "outbox")
    assert [r["id"] for r in rows] == [first + 1, first]  # newest first
    assert rows[1]["number"] == "+358401234567" and rows[1]["text"] == "Tulokset valmiina €"
    assert rows[0]["parts"] == 2 and rows[0]["status"] == "queued" and rows[0]["box"] == "outbox"
    assert {"id", "box", "number", "text", "status", "created_at", "parts", "notification_id"} <= set(rows[0])
    assert sms_list(tmp_path, "--box", "inbox") == []


def test_sigkill_mid_send_leaves_the_message_unknown_and_loses_nothing(tmp_path: Path) -> None:
    queued_before = int(run_cli(tmp_path, "sms", "send", "--to", "+358401234567", "--text", "in doubt").stdout)
    slow = Daemon(tmp_path, APPLIANCE_MODEM__SIM_CMGS_DELAY="60", APPLIANCE_MODEM__SEND_INTERVAL="0").start()
    try:
        slow.wait_healthy()
        wait_for(lambda: sms_list(tmp_path)[0]["status"] == "sending", 30, "sending", slow)
        waiting = int(run_cli(tmp_path, "sms", "send", "--to", "+358401234568", "--text", "waits").stdout)
        time.sleep(0.5)
        slow.proc.kill()  # type: ignore[union-attr]  # SIGKILL while +CMGS is outstanding
        slow.proc.wait(10)  # type: ignore[union-attr]
    finally:
        slow.kill()
    by_id = {r["id"]: r for r in sms_list(tmp_path)}
    assert by_id[queued_before]["status"] == "sending" and by_id[waiting]["status"] == "queued"

    fast = Daemon(tmp_path, APPLIANCE_MODEM__SIM_CMGS_DELAY="0.05", APPLIANCE_MODEM__SEND_INTERVAL="0").start()
    try:
        fast.wait_healthy()
        wait_for(
            lambda: {r["id"]: r["status"] for r in sms_list(tmp_path)}.get(waiting) == "delivered",
            30,
            "the waiting message delivered",
            fast,
        )
        rows = {r["id"]: r for r in sms_list(tmp_path)}
        assert rows[queued_before]["status"] == "unknown"  # surfaced, not dropped, not resent
        assert "may or may not" in rows[queued_before]["error"]
        state = json.loads(run_cli(tmp_path, "sms", "sim", "state").stdout)["state"]
        assert [s["text"] for s in state["sent"]] == ["waits"]
        wait_for(lambda: "in doubt" in _modem_detail(tmp_path), 40, "in-doubt shown in status", fast)

        # a human decides to resend it
        retry = run_cli(tmp_path, "sms", "retry", str(queued_before))
        assert retry.returncode == 0, retry.stderr
        wait_for(
            lambda: {r["id"]: r["status"] for r in sms_list(tmp_path)}[queued_before] == "delivered",
            30,
            "resent and delivered",
            fast,
        )

        # incoming through the daemon's simulator control socket
        inject = run_cli(tmp_path, "sms", "sim", "inject", "--from", "+358409998877", "--text", "Kiitos 👍")
        assert inject.returncode == 0, inject.stderr
        wait_for(
            lambda: [r["text"] for r in sms_list(tmp_path, "--box", "inbox")] == ["Kiitos 👍"], 30, "received", fast
        )
        assert fast.terminate() == 0
    finally:
        fast.kill()


def _modem_detail(data_dir: Path) -> str:
    out = run_cli(data_dir, "status", "--json")
    doc = json.loads(out.stdout) if out.stdout.strip() else {}
    return json.dumps(doc)


def test_hung_modem_recovered_without_restarting_the_daemon(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, APPLIANCE_MODEM__SIM_PROFILE="huawei", APPLIANCE_MODEM__SEND_INTERVAL="0").start()
    try:
        daemon.wait_healthy()
        first = int(run_cli(tmp_path, "sms", "send", "--to", "+358401234567", "--text", "one").stdout)
        wait_for(lambda: sms_list(tmp_path)[0]["status"] in ("sent", "delivered"), 30, "first sent", daemon)
        # longer than the outbox poll (5 s): the daemon writes AT+CMGS into the silence
        assert run_cli(tmp_path, "sms", "sim", "hang", "--seconds", "8").returncode == 0
        second = int(run_cli(tmp_path, "sms", "send", "--to", "+358401234567", "--text", "two").stdout)
        wait_for(
            lambda: {r["id"]: r["status"] for r in sms_list(tmp_path)}[second] in ("sent", "delivered"),
            90,
            "sent after the hang",
            daemon,
        )
        assert daemon.proc is not None and daemon.proc.poll() is None  # the same daemon process
        assert "recovery step" in daemon.log()
        states = [s["text"] for s in json.loads(run_cli(tmp_path, "sms", "sim", "state").stdout)["state"]["sent"]]
        assert states == ["one", "two"] and first < second
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
