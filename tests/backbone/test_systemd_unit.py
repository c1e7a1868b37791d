"""systemd/: the unit passes `systemd-analyze verify` and keeps the promised settings."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

UNIT = REPO / "systemd" / "appliance.service"


def _unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_declares_notify_watchdog_and_hardening() -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "appliance"
    for key, value in {
        "ProtectSystem": "strict", "PrivateTmp": "yes", "NoNewPrivileges": "yes", "User": "appliance",
    }.items():
        assert service[key] == value
    groups = service["SupplementaryGroups"].split()
    assert {"dialout", "plugdev", "gpio"} <= set(groups)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    executable = Path(sys.executable).parent / "appliance"
    if not executable.exists():
        pytest.skip("appliance console script not installed next to this Python")
    unit = tmp_path / "appliance.service"
    unit.write_text(UNIT.read_text().replace("/opt/appliance/venv/bin/appliance", str(executable)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    problems = [ln for ln in result.stderr.splitlines() if "appliance.service" in ln]
    assert result.returncode == 0 and not problems, result.stderr
