"""``appliance run`` with the simulated line and modem, driven from outside as a technician would:
a call answered with the default menu, ``appliance calls dial`` across processes, a voice call to the SIM."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, run_cli

pytestmark = pytest.mark.slow

ENV = {
    "APPLIANCE_LINE__DRIVER": "sim",
    "APPLIANCE_MODEM__DRIVER": "sim",
    "APPLIANCE_LINE__RINGS_BEFORE_ANSWER": "1",
    "APPLIANCE_LINE__SIM_SPEED": "2",
    "APPLIANCE_LINE__GSM_CALL_SMS_REPLY": "Tämä numero ottaa vastaan vain tekstiviestejä. Soita 09 123 456.",
}


def calls(data_dir: Path) -> list[dict[str, Any]]:
    out = run_cli(data_dir, "calls", "list", "--json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def wait_for(pred: Any, timeout: float, what: str, daemon: Daemon) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log()[-4000:]}")


def test_daemon_answers_a_simulated_call_dials_out_and_logs_a_gsm_call(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, **ENV).start()
    try:
        daemon.wait_healthy()
        # an incoming call on the phone line: answered after one ring, key 1 then * then the caller hangs up
        script = json.dumps([["wait", 2], ["keys", "1"], ["wait", 2], ["keys", "*"], ["wait", 2],
                             ["hangup", "busy"]])
        out = run_cli(tmp_path, "line", "sim", "ring", "--number", "0401234567", "--name", "ANNA",
                      "--script", script, **ENV)
        assert out.returncode == 0, out.stderr
        first = wait_for(lambda: [c for c in calls(tmp_path) if c["ended_at"]], 240, "the call to end", daemon)[0]
        assert first["outcome"] == "menu" and first["keys"] == "1*" and first["number"] == "+358401234567"

        # outbound: the first number busy, the second answers; ids printed as the attempts are made
        assert run_cli(tmp_path, "line", "sim", "busy", "--to", "0401234567", **ENV).returncode == 0
        dial = run_cli(tmp_path, "calls", "dial", "--to", "+358401234567", "--json", **ENV)
        assert dial.returncode == 0, dial.stdout + dial.stderr  # the job ran; its outcome is busy
        lines = [json.loads(x) for x in dial.stdout.splitlines()]
        assert lines[0]["number"] == "+358401234567" and lines[-1]["outcome"] == "busy"
        by_id = {c["id"]: c for c in calls(tmp_path)}
        assert by_id[lines[0]["call_id"]]["outcome"] == "busy" and by_id[lines[0]["call_id"]]["direction"] == "out"

        # a voice call to the GSM modem's SIM: a missed call with caller pop and an SMS reply
        out = run_cli(tmp_path, "sms", "sim", "ring", "--from", "+358409876543", **ENV)
        assert out.returncode == 0, out.stderr

        def gsm_call() -> list[dict[str, Any]]:
            return [c for c in calls(tmp_path) if c["detail"].get("line") == "gsm" and c["ended_at"]]

        (gsm,) = wait_for(gsm_call, 60, "the GSM call to be logged", daemon)
        assert gsm["outcome"] == "missed" and gsm["number"] == "+358409876543"
        assert gsm["detail"]["sms_reply"] == "queued"
        sms = json.loads(run_cli(tmp_path, "sms", "list", "--json", **ENV).stdout)
        assert any(m["number"] == "+358409876543" and "vain tekstiviestejä" in m["text"] for m in sms)
        assert daemon.terminate() == 0
    finally:
        daemon.kill()


def test_dial_without_a_daemon_says_so(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "calls", "dial", "--to", "+358401234567", "--no-wait", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == "queued"
    bad = run_cli(tmp_path, "calls", "dial", "--to", "12ab")
    assert bad.returncode == 2 and "12ab" in bad.stderr
    nobody = run_cli(tmp_path, "calls", "dial", "--contact", "nobody")
    assert nobody.returncode == 2 and "nobody" in nobody.stderr
