"""`appliance-tools probe` against the modem simulator on a pty, a silent port and no port."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from appliance.modem.simulator import SimulatedModem


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firmware_tools.main", "probe", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("profile", ["sim800", "sim7600", "ec25", "huawei"])
def test_probe_reports_a_gsm_modem(profile: str) -> None:
    with SimulatedModem(profile) as sim:
        result = _probe("--port", sim.path, "--json")
    assert result.returncode == 0, result.stderr
    device = json.loads(result.stdout)
    assert device["kind"] == "gsm"
    for key in ("manufacturer", "model", "revision", "imei", "sim", "signal"):
        assert device[key] not in (None, ""), key
    assert len(device["imei"]) == 15 and device["imei"].isdigit()
    assert device["sim"] == "READY"
    assert 0 <= device["signal"] <= 31


def test_probe_sees_a_locked_sim() -> None:
    with SimulatedModem("sim800", pin="1234") as sim:
        device = json.loads(_probe("--port", sim.path, "--json").stdout)
    assert device["kind"] == "gsm" and device["sim"] == "SIM PIN"


def test_probe_of_a_silent_port() -> None:
    master, slave = os.openpty()
    try:
        result = _probe("--port", os.ttyname(slave), "--json")
    finally:
        os.close(master)
        os.close(slave)
    assert json.loads(result.stdout)["kind"] == "silent"


def test_probe_of_a_missing_port_is_a_clear_failure() -> None:
    result = _probe("--port", "/dev/ttyNOPE9", "--json")
    assert result.returncode == 1
    device = json.loads(result.stdout)
    assert device["kind"] == "unavailable" and "ttyNOPE9" in device["error"]


def test_human_output() -> None:
    with SimulatedModem("ec25") as sim:
        result = _probe("--port", sim.path)
    assert "gsm" in result.stdout and "Quectel" in result.stdout
