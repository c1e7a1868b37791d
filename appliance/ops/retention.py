"""Retention: what the box forgets, and the disk bound on recordings.

Run by the daemon's ``field`` part every hour (and by ``appliance retention``):

* uplink events the central acknowledged more than ``retention.events_days`` ago;
* SMS in a final state (delivered, failed, expired, received, sent, unknown) older than
  ``retention.messages_days``, with their parts and received fragments;
* recordings (``<data dir>/recordings/**``, WAV) older than ``retention.recordings_days``,
  then the oldest first while they take more than ``retention.recordings_max_mb`` or
  the disk has less than ``storage.min_free_mb`` free.

Nothing unacknowledged and nothing still queued is ever removed. Each run is one
``retention_runs`` row. Deletes go in batches (short transactions: the daemon's
other writers wait at most one batch).
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.store.db import Store, utcnow
from appliance.store.outbox import EventOutbox

log = logging.getLogger(__name__)

FINAL_SMS = ("delivered", "failed", "expired", "received", "sent", "unknown")
BATCH = 2000
RECORDING_SUFFIXES = (".wav", ".WAV")


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prune_messages(store: Store, older_than: str) -> int:
    removed = 0
    marks = ",".join("?" * len(FINAL_SMS))
    while True:
        with store.transaction():
            ids = [r[0] for r in store.conn.execute(
                f"SELECT id FROM sms_messages WHERE status IN ({marks}) AND updated_at < ? LIMIT ?",
                (*FINAL_SMS, older_than, BATCH),
            )]
            if not ids:
                return removed
            qs = ",".join("?" * len(ids))
            store.conn.execute(f"DELETE FROM sms_parts WHERE message_id IN ({qs})", ids)
            store.conn.execute(f"DELETE FROM sms_in_parts WHERE message_id IN ({qs})", ids)
            store.conn.execute(f"DELETE FROM sms_messages WHERE id IN ({qs})", ids)
        removed += len(ids)


def prune_recordings(folder: Path, older_than: datetime, max_bytes: int, min_free: int) -> tuple[int, int]:
    """(files removed, bytes freed): by age, then oldest first over the size or free-space bound."""
    if not folder.is_dir():
        return 0, 0
    files = sorted(
        ((p.stat().st_mtime, p.stat().st_size, p) for p in folder.rglob("*") if p.suffix in RECORDING_SUFFIXES),
    )
    total = sum(size for _, size, _ in files)
    removed = freed = 0
    cutoff = older_than.timestamp()
    for mtime, size, path in files:
        over = total > max_bytes or shutil.disk_usage(folder).free < min_free
        if mtime >= cutoff and not over:
            break
        try:
            path.unlink()
        except OSError as err:
            log.warning("retention: cannot remove %s: %s", path, err)
            continue
        total -= size
        removed += 1
        freed += size
    return removed, freed


def run_retention(store: Store, config: Any, now: datetime | None = None) -> dict[str, Any]:
    """Apply the policy once; returns {what: count} and bytes freed (also kept in retention_runs)."""
    now = now or datetime.now(UTC)
    r = config.retention
    events = 0
    while True:
        n = EventOutbox(store).prune_acked(_iso(now - timedelta(days=r.events_days)), limit=BATCH)
        events += n
        if n < BATCH:
            break
    messages = prune_messages(store, _iso(now - timedelta(days=r.messages_days)))
    files, freed = prune_recordings(
        config.data_dir / "recordings", now - timedelta(days=r.recordings_days),
        r.recordings_max_mb * 1024 * 1024, config.storage.min_free_mb * 1024 * 1024,
    )
    removed = {"events": events, "messages": messages, "recordings": files}
    with store.transaction():
        store.conn.execute(
            "INSERT INTO retention_runs(at, removed, bytes_freed) VALUES (?, ?, ?)",
            (utcnow(), json.dumps(removed), freed),
        )
        store.conn.execute("DELETE FROM retention_runs WHERE id <= (SELECT MAX(id) FROM retention_runs) - 1000")
    if any(removed.values()):
        log.info("retention: removed %s (%d bytes of recordings)", removed, freed)
    return {"removed": removed, "bytes_freed": freed}
