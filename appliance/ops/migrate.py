"""Schema upgrades that can go back: a pre-upgrade backup, and down migrations where written.

``upgrade_db`` (run by scripts/install-pi.sh before the new version starts) copies the
database to a backup before migrating it, so ``install-pi.sh --rollback`` puts back the
old program AND its data. ``downgrade`` runs ``migrations/down/schema_vN.sql`` from the
current version down to the one asked for; a version without a down file stops it
(then the pre-upgrade backup is the way back).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from appliance.errors import StoreError, UsageError
from appliance.ops.backup import backup
from appliance.store.db import Store, migrations, split_statements

log = logging.getLogger(__name__)
_DOWN_NAME = re.compile(r"^schema_v(\d+)\.sql$")


def down_migrations() -> dict[int, str]:
    """{version: SQL that takes the schema from version to version - 1}."""
    found: dict[int, str] = {}
    folder = resources.files("appliance.store.migrations").joinpath("down")
    if not folder.is_dir():
        return found
    for entry in folder.iterdir():
        m = _DOWN_NAME.match(entry.name)
        if m:
            found[int(m.group(1))] = entry.read_text(encoding="utf-8")
    return found


def schema_version(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def upgrade_db(db_path: Path, backup_path: Path, site: str) -> dict[str, Any]:
    """Migrate the database to this program's schema, backing it up first when it changes."""
    latest = max(migrations())
    if not db_path.exists():
        Store.open(db_path).close()
        return {"from": 0, "to": latest, "backup": None}
    before = schema_version(db_path)
    taken = None
    if before < latest:
        taken = str(backup(db_path, backup_path, site).path)
    store = Store.open(db_path)  # refuses a newer schema (StoreTooNew)
    store.close()
    if taken:
        log.info("database %s upgraded v%d -> v%d; pre-upgrade backup %s", db_path, before, latest, taken)
    return {"from": before, "to": latest, "backup": taken}


def apply_up_to(store: Store, version: int) -> None:
    """Apply the shipped migrations up to ``version`` only (tests and tools that need an old schema)."""
    available = migrations()
    current = store.schema_version
    with store.transaction():
        for v in range(current + 1, version + 1):
            for statement in split_statements(available[v]):
                store.conn.execute(statement)
        store.conn.execute(f"PRAGMA user_version = {version}")


def downgrade(store: Store, to: int) -> int:
    """Run down migrations until the schema is ``to``; all or nothing."""
    current = store.schema_version
    if to < 1 or to > current:
        raise UsageError(f"cannot go down from schema v{current} to v{to}")
    downs = down_migrations()
    missing = [v for v in range(current, to, -1) if v not in downs]
    if missing:
        raise StoreError(
            f"no down migration for schema v{', v'.join(map(str, missing))}: restore the pre-upgrade backup "
            "instead (scripts/install-pi.sh --rollback)"
        )
    store.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with store.transaction(durable=True):
            for v in range(current, to, -1):
                for statement in split_statements(downs[v]):
                    store.conn.execute(statement)
            store.conn.execute(f"PRAGMA user_version = {to}")
            problems = store.conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise StoreError(f"down migration left broken references: {problems[:3]}")
    finally:
        store.conn.execute("PRAGMA foreign_keys = ON")
    log.info("store %s migrated down from v%d to v%d", store.path, current, to)
    return to
