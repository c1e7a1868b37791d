"""The store: migrations, re-opening, corrupt files refused untouched, the event outbox."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from appliance.errors import StoreCorrupt, StoreTooNew
from appliance.sms.outbox import SmsOutbox
from appliance.store import db as store_db
from appliance.store.db import Store, migrations, split_statements
from appliance.store.outbox import EventOutbox


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrates_an_empty_file_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.touch()
    store = Store.open(path)
    try:
        assert store.schema_version == max(migrations())
        mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"events", "event_streams", "meta", "service_health", "users", "sms_messages"} <= tables
    finally:
        store.close()


def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = Store.open(path)
    store.set_meta("k", "v")
    version = store.schema_version
    store.close()
    again = Store.open(path)
    try:
        assert again.schema_version == version
        assert again.get_meta("k") == "v"
    finally:
        again.close()


def test_migration_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing migration leaves the file at its old version with nothing half-applied."""
    path = tmp_path / "a.db"
    Store.open(path).close()
    good = migrations()
    latest = max(good)
    broken = dict(good)
    broken[latest + 1] = "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n"
    monkeypatch.setattr(store_db, "migrations", lambda: broken)
    with pytest.raises(Exception, match="syntax error"):
        Store.open(path)
    monkeypatch.undo()
    store = Store.open(path)
    try:
        assert store.schema_version == latest
        assert store.conn.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchone() is None
    finally:
        store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreTooNew, match="v999"):
        Store.open(path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "page"])
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "a.db"
    store = Store.open(path)
    with store.transaction():
        for i in range(2000):
            store.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (f"k{i}", "x" * 200))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    raw = bytearray(path.read_bytes())
    if damage == "garbage":
        raw[:100] = b"\xde\xad\xbe\xef" * 25
    elif damage == "truncated":
        raw = raw[: len(raw) // 3]
    else:  # scribble over an interior b-tree page, header intact
        page = 4096
        raw[3 * page : 3 * page + 512] = b"\xff" * 512
    path.write_bytes(bytes(raw))
    before = _digest(path)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreCorrupt, match="left untouched"):
        Store.open(path)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings


def test_outbox_numbers_each_stream_without_gaps(store: Store) -> None:
    outbox = EventOutbox(store)
    for i in range(5):
        outbox.append("sms_status", {"i": i})
        outbox.append("sms_in", {"i": i})
    events = outbox.unacked()
    by_stream: dict[str, list[int]] = {}
    for e in events:
        by_stream.setdefault(e.stream, []).append(e.seq)
    assert by_stream == {"sms_status": [1, 2, 3, 4, 5], "sms_in": [1, 2, 3, 4, 5]}
    assert len({e.id for e in events}) == 10
    env = events[0].envelope("site-1")
    assert set(env) == {"v", "id", "type", "site", "seq", "ts", "data"} and env["v"] == 1


def test_acknowledge_watermark(store: Store) -> None:
    outbox = EventOutbox(store)
    for i in range(5):
        outbox.append("call", {"i": i})
    assert outbox.acknowledge("call", 3) == 3
    assert [e.seq for e in outbox.unacked()] == [4, 5]
    assert outbox.acknowledge("call", 2) == 0  # an older watermark changes nothing
    assert outbox.acknowledge("call", 99) == 2
    assert outbox.backlog()["unacked"] == 0


def test_event_and_business_row_roll_back_together(store: Store) -> None:
    outbox = EventOutbox(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.conn.execute("INSERT INTO meta(key, value) VALUES ('business', 'row')")
        outbox.append("complaint", {"x": 1})
        raise RuntimeError("crash before commit")
    assert store.get_meta("business") is None
    assert outbox.unacked() == []
    # the seq given out inside the rolled-back transaction is given again: no gap
    assert outbox.append("complaint", {"x": 2}).seq == 1


def test_wakeups_fire_after_commit_only(store: Store) -> None:
    fired: list[str] = []
    store.on_commit_signal = fired.append
    with pytest.raises(RuntimeError), store.transaction():
        EventOutbox(store).append("call", {})
        raise RuntimeError
    assert fired == []
    SmsOutbox(store).enqueue("+358401234567", "hello")
    assert fired == ["events", "sms_outbox"]


def test_sms_enqueue_is_idempotent_by_notification_id(store: Store) -> None:
    outbox = SmsOutbox(store)
    first = outbox.enqueue("+358401234567", "a", notification_id="n-1")
    again = outbox.enqueue("+358401234567", "a", notification_id="n-1")
    assert first.created and not again.created and first.message_id == again.message_id
    assert EventOutbox(store).backlog()["unacked"] == 1


def test_split_statements_handles_triggers_and_comments() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 1; UPDATE t SET x = 2;
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2 and statements[1].startswith("CREATE TRIGGER")


def test_full_disk_is_a_named_error_and_loses_nothing(store: Store) -> None:
    """SQLITE_FULL (simulated with max_page_count) raises StoreFull; what was committed stays."""
    from appliance.errors import StoreFull

    outbox = EventOutbox(store)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 8}")
    committed = 0
    with pytest.raises(StoreFull, match="full"):
        for i in range(100_000):
            outbox.append("sms_in", {"text": "x" * 500, "i": i})
            committed += 1
    assert committed > 0
    assert outbox.backlog()["unacked"] == committed
    assert [e.seq for e in outbox.unacked(limit=committed + 10)] == list(range(1, committed + 1))
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert outbox.append("sms_in", {"after": "space freed"}).seq == committed + 1


def test_concurrent_writer_waits_instead_of_failing(store: Store) -> None:
    """Another process writing between our read and our write must not make us fail."""
    import threading

    other_done = threading.Event()
    errors: list[BaseException] = []

    def other_process_writes() -> None:
        conn = sqlite3.connect(store.path, timeout=10)
        try:
            conn.execute("INSERT INTO meta(key, value) VALUES ('other', 'x')")
            conn.commit()
        except BaseException as err:  # noqa: BLE001 - reported to the test below
            errors.append(err)
        finally:
            conn.close()
            other_done.set()

    with store.transaction():
        store.conn.execute("SELECT COUNT(*) FROM meta").fetchone()
        thread = threading.Thread(target=other_process_writes)
        thread.start()
        other_done.wait(0.5)  # it waits for our lock (it would commit here under a plain BEGIN)
        store.conn.execute("INSERT INTO meta(key, value) VALUES ('ours', 'y')")
    thread.join(15)
    assert not errors
    assert store.get_meta("ours") == "y" and store.get_meta("other") == "x"


def test_acknowledge_cost_does_not_grow_with_history(store: Store) -> None:
    """A new watermark visits only the rows above the previous one (counted in SQLite VM steps)."""
    outbox = EventOutbox(store)

    def steps_of_ack(seq: int) -> int:
        count = 0

        def tick() -> int:
            nonlocal count
            count += 1
            return 0

        store.conn.set_progress_handler(tick, 100)
        try:
            outbox.acknowledge("sms_in", seq)
        finally:
            store.conn.set_progress_handler(None, 0)
        return count

    with store.transaction():
        for i in range(10):
            outbox.append("sms_in", {"i": i})
    small_history = steps_of_ack(10)
    with store.transaction():
        for i in range(5000):
            outbox.append("sms_in", {"i": i})
    assert steps_of_ack(5000) > 0
    with store.transaction():
        for i in range(10):
            outbox.append("sms_in", {"i": i})
    large_history = steps_of_ack(5020)
    assert large_history <= 3 * small_history + 5, (small_history, large_history)
    assert outbox.backlog()["unacked"] == 0
