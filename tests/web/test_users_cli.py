"""`appliance users add|passwd|remove|list` with roles; password changes and removals end sessions."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.store.db import Store
from appliance.users import create_session, session_user
from tests.helpers import run_cli


def test_users_roles_passwd_remove_and_list(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "users", "add", "anna", "--password-stdin", stdin="correct horse\n").returncode == 0
    added = run_cli(tmp_path, "users", "add", "desk1", "--role", "desk", "--password-stdin", stdin="front desk 1\n")
    assert added.returncode == 0 and "(desk)" in added.stdout
    bad = run_cli(tmp_path, "users", "add", "x", "--role", "admin", "--password-stdin", stdin="long enough\n")
    assert bad.returncode == 2
    store = Store.open(tmp_path / "appliance.db")
    try:
        token = create_session(store, "desk1", 3600)
        other = create_session(store, "anna", 3600)
    finally:
        store.close()
    listed = json.loads(run_cli(tmp_path, "users", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["sessions"]) for u in listed] == [("anna", "technician", 1),
                                                                         ("desk1", "desk", 1)]
    assert run_cli(tmp_path, "users", "passwd", "desk1", "--password-stdin", stdin="new password\n").returncode == 0
    assert run_cli(tmp_path, "users", "passwd", "nobody", "--password-stdin", stdin="new password\n").returncode == 2
    assert run_cli(tmp_path, "users", "remove", "anna").returncode == 0
    assert run_cli(tmp_path, "users", "remove", "anna").returncode == 2
    store = Store.open(tmp_path / "appliance.db")
    try:
        assert session_user(store, token) is None and session_user(store, other) is None
    finally:
        store.close()
    assert "desk1" in run_cli(tmp_path, "users", "list").stdout
