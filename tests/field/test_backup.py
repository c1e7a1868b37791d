"""Backup under load, restore (refusals, seq generations), the high-water check, migrations down."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from appliance.errors import StoreError, StoreTooNew, UsageError
from appliance.ops import backup as ops
from appliance.ops.migrate import apply_up_to, down_migrations, downgrade, upgrade_db
from appliance.store.db import Store, migrations, utcnow
from appliance.store.outbox import EventOutbox
from tests.helpers import run_cli

SITE = "lab-7"


def _queue_sms(store: Store, n: int) -> int:
    """One acknowledged SMS: the row and its event in one durable commit (as `sms send` does)."""
    with store.transaction(durable=True):
        now = utcnow()
        cur = store.conn.execute(
            "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
            "VALUES ('outbox', '+358401234567', ?, 'queued', ?, ?)",
            (f"message {n} " + "x" * 200, now, now),
        )
        message_id = int(cur.lastrowid or 0)
        EventOutbox(store).append("sms_status", {"message_id": message_id, "status": "queued"})
    return message_id


def _events(store: Store, stream: str, count: int) -> None:
    for i in range(count):
        with store.transaction():
            EventOutbox(store).append(stream, {"i": i})


def _last_seq(path: Path, stream: str) -> int:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT last_seq FROM event_streams WHERE stream = ?", (stream,)).fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


def test_backup_during_heavy_writes_is_consistent_and_loses_no_acknowledged_sms(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store.open(db)
    for n in range(2000):  # some history, so the copy takes a while
        _queue_sms(store, n)
    acknowledged: list[tuple[float, int]] = []
    stop = threading.Event()

    def writer() -> None:
        n = 100_000
        while not stop.is_set():
            message_id = _queue_sms(store, n)
            acknowledged.append((time.monotonic(), message_id))  # after the commit returned
            n += 1

    thread = threading.Thread(target=writer, name="heavy-writer")
    thread.start()
    try:
        time.sleep(0.5)
        (tmp_path / "appliance.toml").write_text(
            f"[site]\nid = '{SITE}'\n[storage]\npath = '{db}'\n[modem]\ndriver = 'none'\n[line]\ndriver = 'none'\n"
        )
        started = time.monotonic()
        result = run_cli(tmp_path, "backup", str(tmp_path / "b.db"), "--json")
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(10)
        store.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["site"] == SITE
    before_backup = {mid for t, mid in acknowledged if t < started}
    assert len(before_backup) > 20, "the writer did not get going before the backup"
    assert any(t > started for t, _ in acknowledged), "no writes happened during the backup"

    copy = sqlite3.connect(tmp_path / "b.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {r[0] for r in copy.execute("SELECT id FROM sms_messages")}
        assert before_backup <= ids, "an SMS acknowledged before the backup started is missing"
        # a consistent snapshot: every row has its event, seqs 1..N without gaps
        seqs = [r[0] for r in copy.execute("SELECT seq FROM events WHERE stream = 'sms_status' ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) == len(ids)
        (last,) = copy.execute("SELECT last_seq FROM event_streams WHERE stream = 'sms_status'").fetchone()
        assert last == len(seqs)
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        copy.close()

    # and it restores into a working store with all of it
    target = tmp_path / "restored" / "appliance.db"
    target.parent.mkdir()
    done = ops.restore(tmp_path / "b.db", target, SITE)
    assert done["seq_bound_from"] == "none" and done["jumps"]["sms_status"][1] == last + ops.BLIND_JUMP
    restored = Store.open(target)
    try:
        assert {r[0] for r in restored.conn.execute("SELECT id FROM sms_messages")} == ids
    finally:
        restored.close()


def _site_db(tmp_path: Path, events: int = 10) -> tuple[Path, Store]:
    db = tmp_path / "live" / "appliance.db"
    store = Store.open(db)
    _events(store, "call", events)
    return db, store


def test_restore_refuses_another_site_and_a_newer_schema(tmp_path: Path) -> None:
    db, store = _site_db(tmp_path)
    store.close()
    ops.backup(db, tmp_path / "b.db", "other-lab")
    with pytest.raises(UsageError, match="other-lab"):
        ops.restore(tmp_path / "b.db", db, SITE)
    assert ops.restore(tmp_path / "b.db", db, SITE, other_site=True)["site"] == "other-lab"

    ops.backup(db, tmp_path / "new.db", SITE)
    conn = sqlite3.connect(tmp_path / "new.db")
    conn.execute(f"PRAGMA user_version = {max(migrations()) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreTooNew, match="newer appliance"):
        ops.restore(tmp_path / "new.db", db, SITE)
    with pytest.raises(UsageError, match="not an appliance backup"):
        ops.restore(db, tmp_path / "x.db", SITE)


def test_restore_continues_seqs_after_the_replaced_database(tmp_path: Path) -> None:
    db, store = _site_db(tmp_path, 10)
    ops.backup(db, tmp_path / "b.db", SITE)
    _events(store, "call", 15)  # 11..25 numbered (and maybe sent) after the backup
    store.close()
    done = ops.restore(tmp_path / "b.db", db, SITE)
    assert done["seq_bound_from"] == "database"
    assert done["jumps"]["call"] == [10, 25]
    store = Store.open(db)
    try:
        with store.transaction():
            event = EventOutbox(store).append("call", {"after": "restore"})
        assert event.seq == 26  # never 11..25 again, with a new id
        (gen, jumps) = store.conn.execute("SELECT generation, jumps FROM store_generations").fetchone()
        assert gen == 1 and json.loads(jumps) == {"call": [10, 25]}
        (data,) = store.conn.execute("SELECT data FROM events WHERE stream = ?", (ops.RESTORED_STREAM,)).fetchone()
        assert json.loads(data)["skipped"]["call"] == {"after": 10, "resume_after": 25}
    finally:
        store.close()


def test_restore_onto_a_new_card_uses_the_highwater_file_or_jumps_blind(tmp_path: Path) -> None:
    db, store = _site_db(tmp_path, 10)
    ops.backup(db, tmp_path / "b.db", SITE)
    _events(store, "call", 5)
    ops.write_highwater(store, SITE)  # the daemon does this every minute
    store.close()
    db.unlink()
    done = ops.restore(tmp_path / "b.db", db, SITE)
    assert done["seq_bound_from"] == "highwater"
    assert done["jumps"]["call"] == [10, 15 + ops.HIGHWATER_MARGIN]
    shutil.rmtree(db.parent)
    db.parent.mkdir()
    done = ops.restore(tmp_path / "b.db", db, SITE)
    assert done["seq_bound_from"] == "none" and done["jumps"]["call"] == [10, 10 + ops.BLIND_JUMP]


def test_a_database_put_back_by_hand_is_detected_at_start(tmp_path: Path) -> None:
    db, store = _site_db(tmp_path, 10)
    store.close()
    shutil.copy(db, tmp_path / "old.db")
    store = Store.open(db)
    _events(store, "call", 7)
    ops.write_highwater(store, SITE)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", db)  # a technician copies an old file back
    store = Store.open(db)
    try:
        assert ops.check_highwater(store, SITE) == {"call": [10, 17 + ops.HIGHWATER_MARGIN]}
        assert ops.check_highwater(store, SITE) == {}  # once
    finally:
        store.close()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_migration_v8_up_and_back_down_on_a_copy_with_data(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store.open(db, migrate=False)
    apply_up_to(store, 7)
    for n in range(50):
        _queue_sms(store, n)
    _events(store, "call", 5)
    store.close()
    shutil.copy(db, tmp_path / "v7.db")
    before = _dump(tmp_path / "v7.db")

    store = Store.open(db, migrate=False)
    apply_up_to(store, 8)
    assert store.schema_version == 8
    with store.transaction():  # the new tables in use before going back
        store.conn.execute("INSERT INTO retention_runs(at, removed) VALUES ('2026-01-01T00:00:00Z', '{}')")
    downgrade(store, 7)
    assert store.schema_version == 7
    store.close()
    assert _dump(db) == before


def test_down_path_stops_where_no_down_migration_exists(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        latest = store.schema_version
        missing = [v for v in range(latest, 1, -1) if v not in down_migrations()]
        if missing:
            with pytest.raises(StoreError, match=f"v{missing[0]}"):
                downgrade(store, 1)
            assert store.schema_version == latest  # all or nothing
    finally:
        store.close()


def test_upgrade_backs_up_first_and_the_backup_brings_the_old_schema_back(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store.open(db, migrate=False)
    apply_up_to(store, 7)
    ids = [_queue_sms(store, n) for n in range(20)]
    store.close()
    done = upgrade_db(db, tmp_path / "pre.db", SITE)
    assert done["from"] == 7 and done["to"] == max(migrations()) and done["backup"]
    store = Store.open(db)
    _queue_sms(store, 99)  # the new version ran a while
    store.close()
    ops.restore(tmp_path / "pre.db", db, SITE)  # rollback: the old program restores its backup
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 7
        assert [r[0] for r in conn.execute("SELECT id FROM sms_messages ORDER BY id")] == ids
        (last,) = conn.execute("SELECT last_seq FROM event_streams WHERE stream = 'sms_status'").fetchone()
        assert last == 21  # the 21st event (made by the new version) is never numbered again
    finally:
        conn.close()
    assert upgrade_db(db, tmp_path / "pre2.db", SITE)["backup"]
