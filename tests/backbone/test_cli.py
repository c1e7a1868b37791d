"""The command line's shared behaviour: exit codes, JSON on stdout, calls list, users."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.helpers import run_cli


def test_no_command_is_usage_error(tmp_path: Path) -> None:
    assert run_cli(tmp_path).returncode == 2


def test_unknown_command_is_exit_2_with_one_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_calls_list_json_newest_first(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "calls", "list", "--json").stdout.strip() == "[]"
    conn = sqlite3.connect(tmp_path / "appliance.db")
    conn.executemany(
        "INSERT INTO calls(direction, number, contact_id, started_at, ended_at, outcome) VALUES (?,?,?,?,?,?)",
        [
            ("in", "+358401234567", "c-1", "2026-11-22T08:00:00.000Z", "2026-11-22T08:01:00.000Z", "answered"),
            ("out", "+358409876543", None, "2026-11-22T09:00:00.000Z", None, None),
        ],
    )
    conn.commit()
    conn.close()
    result = run_cli(tmp_path, "calls", "list", "--json")
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout)
    assert [c["direction"] for c in calls] == ["out", "in"]
    for key in ("id", "direction", "number", "contact_id", "started_at", "ended_at", "outcome"):
        assert key in calls[0]
    human = run_cli(tmp_path, "calls", "list")
    assert "in progress" in human.stdout and "answered" in human.stdout


def test_users_add_refuses_short_password(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "users", "add", "tech", "--password-stdin", stdin="short\n")
    assert result.returncode == 2 and "password" in result.stderr


def test_users_add_refuses_bad_name(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "users", "add", "bad name!", "--password-stdin", stdin="long enough\n")
    assert result.returncode == 2 and "user name" in result.stderr


def test_status_json_without_daemon(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["daemon"]["running"] is False
    assert {"modem", "line", "sync", "web"} <= set(status["parts"])
    assert status["parts"]["sync"]["state"] == "disabled"
    assert "sms" in status["queues"] and "uplink" in status["queues"]
