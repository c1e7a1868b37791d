"""Schema v5 on a store that already has messages: an old STOP or COMPLAINT does not act now."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from appliance.inbound.router import Router
from appliance.store.db import Store, migrations, split_statements
from tests.workflows.conftest import SETTINGS


def test_messages_received_before_v5_are_not_routed(tmp_path: Path) -> None:
    path = tmp_path / "appliance.db"
    conn = sqlite3.connect(path)
    available = migrations()
    for version in range(1, 5):
        for statement in split_statements(available[version]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
        "VALUES ('inbox', '+358401234567', 'STOP', 'received', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')"
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version >= 5
        assert Router(SETTINGS).route_pending(store) == []
        assert store.conn.execute("SELECT handled_as FROM sms_inbound_routes").fetchall() == [("not_routed",)]
        assert store.conn.execute("SELECT COUNT(*) FROM sms_opt_outs").fetchone()[0] == 0
    finally:
        store.close()
