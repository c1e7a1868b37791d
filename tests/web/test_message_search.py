"""Message search: the trigram index (plus the tail not indexed yet) finds what LIKE finds, newest
first, with keyset paging; the index follows deletes and changed texts."""

from __future__ import annotations

import random
from pathlib import Path

from appliance.store.db import Store, utcnow
from appliance.web import search
from appliance.web.data import message_page

WORDS = ("Kiitos", "tulokset", "results", "ready", "VALITUS", "jono", "谢谢", "明天来取结果", "Tack", "påminnelsen",
         '"quoted"', "50%", "a_b", "O'Brien", "<b>lab</b>")


def _fill(store: Store, n: int) -> None:
    rng = random.Random(5)
    now = utcnow()
    with store.transaction():
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 6)))
            store.conn.execute(
                "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                ("inbox" if i % 3 else "outbox", f"+35840{i % 7:07d}", text, "received" if i % 3 else "failed",
                 now, now),
            )


def _like(store: Store, box: str, status: str, text: str) -> list[int]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [r[0] for r in store.conn.execute(
        "SELECT id FROM sms_messages WHERE box = ? AND status = ? AND text LIKE ? ESCAPE '\\' ORDER BY id DESC",
        (box, status, pattern),
    )]


def _all_pages(store: Store, box: str, text: str) -> list[int]:
    found: list[int] = []
    before = None
    while True:
        rows, before = message_page(store, box, text=text, before=before, limit=7)
        found += [r["id"] for r in rows]
        if before is None:
            return found


def test_indexed_search_finds_what_like_finds_page_by_page(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        _fill(store, 600)
        # nothing indexed yet (all by LIKE), the older half indexed (index + tail), all indexed
        for state in ("none", "half", "all"):
            if state == "half":
                assert search.catch_up(store, batch=300) == 300 and search.indexed_upto(store) == 300
            if state == "all":
                assert search.catch_up(store) == 300 and search.catch_up(store) == 0
            for query in ("tulok", "TULOKSET", "results ready", "谢谢", "明天来", '"quoted"', "50%", "a_b", "O'Br",
                          "<b>lab", "ki", "%", "nothing like it"):
                for box, status in (("inbox", "received"), ("failed", "failed")):
                    expected = _like(store, "inbox" if box == "inbox" else "outbox", status, query)  # any case
                    assert expected or query == "nothing like it", query
                    assert _all_pages(store, box, query) == expected, (state, query, box)
        store.conn.execute("INSERT INTO sms_text(sms_text, rank) VALUES ('integrity-check', 1)")  # raises if broken
    finally:
        store.close()


def test_the_index_follows_changed_and_deleted_messages(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "a.db")
    try:
        _fill(store, 30)
        search.catch_up(store, batch=20)  # 1-20 indexed, 21-30 not yet
        with store.transaction():
            store.conn.execute("UPDATE sms_messages SET text = 'completed late: parcel tracking' WHERE id IN (2, 24)")
            store.conn.execute("DELETE FROM sms_messages WHERE id IN (3, 26)")
        assert [r["id"] for r in message_page(store, "inbox", text="parcel track")[0]] == [24, 2]
        search.catch_up(store)
        assert [r["id"] for r in message_page(store, "inbox", text="parcel track")[0]] == [24, 2]
        for gone in (3, 26):
            assert gone not in _all_pages(store, "inbox", "tulokset") and gone not in _all_pages(store, "inbox", "a")
        store.conn.execute("INSERT INTO sms_text(sms_text, rank) VALUES ('integrity-check', 1)")  # raises if broken
    finally:
        store.close()
