"""The messages' text index (``sms_text``, FTS5 trigram): filled in batches, searched with the tail.

Why batches: FTS5 writes a new index segment per transaction, so indexing each SMS as it
is stored nearly doubled the bytes written per message (bench/bench_search.py). The web
part calls :func:`catch_up` every ``CATCH_UP_S``; it indexes what arrived since, at most
``BATCH`` messages per transaction. Messages newer than the index (``sms_text_upto``) are
searched with LIKE, so a search is always complete; see :func:`appliance.web.data.message_page`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.store.db import Store

UPTO_META = "sms_text_upto"
BATCH = 5000  # messages indexed per transaction (the store thread is free again between batches)
CATCH_UP_S = 900.0


def indexed_upto(store: Store) -> int:
    """The highest message id in the index (every id up to it is indexed)."""
    return int(store.get_meta(UPTO_META, "0") or 0)


def catch_up(store: Store, batch: int = BATCH) -> int:
    """Index up to ``batch`` messages stored since the last run, in one transaction; how many."""
    with store.transaction():
        upto = indexed_upto(store)
        rows = store.conn.execute(
            "SELECT id, text FROM sms_messages WHERE id > ? ORDER BY id LIMIT ?", (upto, batch)
        ).fetchall()
        if not rows:
            return 0
        store.conn.executemany("INSERT INTO sms_text(rowid, text) VALUES (?, ?)", rows)
        store.set_meta(UPTO_META, str(rows[-1][0]))
    return len(rows)
