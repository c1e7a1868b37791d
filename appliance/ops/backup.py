"""Backup, restore and the uplink seqs a restore must never reuse.

Backup (``appliance backup FILE``) works while the daemon runs: SQLite's online
backup copies the database in ONE step, inside one read transaction. In WAL mode
that read does not block the daemon's writers (they append to the WAL meanwhile)
and the copy is one consistent snapshot; a stepped backup would restart every
time the daemon committed and might never finish under load. The copy is then
stamped with the site, the time and each stream's last seq, checked, made a
single file (journal_mode DELETE) and renamed into place.

Restore (``appliance restore FILE``, daemon stopped) refuses a file of another
site or of a schema newer than this program, then copies it over the live
database and starts a new *generation*: every uplink stream's ``last_seq`` is
moved past anything the old database may have sent, so an event made after the
restore never carries the seq of a different event the central already has.
Where that bound comes from, best first: the database being replaced (it knows
exactly what it numbered), the high-water file the daemon keeps beside the
database (written every minute, plus :data:`HIGHWATER_MARGIN`), or, with neither
(a new SD card), :data:`BLIND_JUMP`. The jump is recorded in
``store_generations`` and announced on the ``store_restored`` uplink stream
(sync/PROTOCOL.md "Restores"), so the central can tell a gap left by a restore
from a lost message.

The same high-water file catches a database put back by hand (a copied file,
an SD card image): at start-up :func:`check_highwater` sees seqs lower than the
file's and runs the same recovery.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import StoreError, StoreTooNew, UsageError
from appliance.store.db import Store, check_file, migrations, utcnow

log = logging.getLogger(__name__)

HIGHWATER_NAME = "uplink-highwater.json"
# Events the daemon may have numbered (and sent) after its last high-water write: the file is
# written every HIGHWATER_INTERVAL_S, and no stream makes 10,000 events a minute on one box.
HIGHWATER_INTERVAL_S = 60.0
HIGHWATER_MARGIN = 10_000
# Neither the replaced database nor the high-water file: nothing bounds what was sent.
BLIND_JUMP = 1_000_000
RESTORED_STREAM = "store_restored"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    site: str
    taken_at: str
    schema: int
    bytes: int
    seconds: float
    last_seqs: dict[str, int]


def _stream_seqs(conn: sqlite3.Connection) -> dict[str, int]:
    try:
        return {s: int(q) for s, q in conn.execute("SELECT stream, last_seq FROM event_streams")}
    except sqlite3.OperationalError:
        return {}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db_path: Path, dest: Path, site: str) -> BackupInfo:
    """Copy the live database at ``db_path`` to ``dest`` (atomically replaced), stamped with ``site``."""
    if not db_path.exists():
        raise UsageError(f"no database at {db_path}")
    dest = dest.resolve()
    if dest == db_path.resolve():
        raise UsageError("the backup file cannot be the database itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    started = time.monotonic()
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # one step: one consistent read snapshot, writers not blocked (WAL)
            dst.execute("PRAGMA journal_mode = DELETE")
            schema = int(dst.execute("PRAGMA user_version").fetchone()[0])
            seqs = _stream_seqs(dst)
            taken = utcnow()
            with dst:
                for key, value in (
                    ("backup.site", site), ("backup.taken_at", taken), ("backup.last_seqs", json.dumps(seqs)),
                ):
                    dst.execute(
                        "INSERT INTO meta(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value),
                    )
            rows = [r[0] for r in dst.execute("PRAGMA quick_check").fetchall()]
            if rows != ["ok"]:
                raise StoreError(f"the backup copy failed its check: {'; '.join(rows[:3])}")
        finally:
            dst.close()
    finally:
        src.close()
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(0o640)
    tmp.replace(dest)
    _fsync_dir(dest.parent)
    size = dest.stat().st_size
    info = BackupInfo(dest, site, taken, schema, size, time.monotonic() - started, seqs)
    log.info("backup of %s to %s: %d bytes, schema v%d, %.1f s", db_path, dest, size, schema, info.seconds)
    return info


def read_backup(path: Path) -> dict[str, Any]:
    """The stamp of a backup file: site, taken_at, schema, last_seqs. Refuses what is not one."""
    if not path.is_file():
        raise UsageError(f"no backup file at {path}")
    check_file(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'backup.%'").fetchall())
        except sqlite3.OperationalError:
            meta = {}
    finally:
        conn.close()
    if "backup.site" not in meta:
        raise UsageError(f"{path} is not an appliance backup (no backup stamp; make one with 'appliance backup')")
    return {
        "site": meta["backup.site"],
        "taken_at": meta.get("backup.taken_at"),
        "schema": schema,
        "last_seqs": json.loads(meta.get("backup.last_seqs", "{}")),
    }


def read_highwater(data_dir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((data_dir / HIGHWATER_NAME).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("streams"), dict) else None


def write_highwater(store: Store, site: str) -> None:
    """Record each stream's last seq beside the database (atomically); runs on the store thread."""
    seqs = _stream_seqs(store.conn)
    old = read_highwater(store.path.parent) or {}
    merged = {s: max(int(q), int(old.get("streams", {}).get(s, 0))) for s, q in seqs.items()}
    for s, q in old.get("streams", {}).items():
        merged.setdefault(s, int(q))
    if old.get("streams") == merged and old.get("site") == site:
        return  # unchanged: spare the SD card a write
    path = store.path.parent / HIGHWATER_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"site": site, "at": utcnow(), "streams": merged}, sort_keys=True))
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)


def _jump_streams(
    store: Store, reason: str, bounds: dict[str, int], margin: int, backup_taken: str | None,
) -> dict[str, list[int]]:
    """Start a new generation: move every stream's last_seq past ``bounds`` (+ ``margin``)."""
    conn = store.conn
    jumps: dict[str, list[int]] = {}
    with store.transaction(durable=True):
        current = _stream_seqs(conn)
        for stream in sorted(set(current) | set(bounds)):
            have = current.get(stream, 0)
            bound = bounds.get(stream, 0)
            target = bound + margin if margin else bound
            if target > have:
                conn.execute(
                    "INSERT INTO event_streams(stream, last_seq) VALUES (?, ?) "
                    "ON CONFLICT(stream) DO UPDATE SET last_seq = excluded.last_seq",
                    (stream, target),
                )
                jumps[stream] = [have, target]
        generation = int(store.get_meta("store.generation", "0") or 0) + 1
        store.set_meta("store.generation", str(generation))
        has_history = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_generations'"
        ).fetchone()
        if has_history:  # schema v8+; an older restored schema keeps the counter in meta only
            conn.execute(
                "INSERT INTO store_generations(generation, reason, backup_taken, jumps, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (generation, reason, backup_taken, json.dumps(jumps, sort_keys=True), utcnow()),
            )
        if jumps:
            from appliance.store.outbox import EventOutbox

            EventOutbox(store).append(
                RESTORED_STREAM,
                {"generation": generation, "reason": reason, "backup_taken_at": backup_taken,
                 "skipped": {s: {"after": a, "resume_after": b} for s, (a, b) in jumps.items()}},
            )
    log.warning("store generation %d (%s): uplink seqs moved on %s", generation, reason, jumps or "nowhere")
    return jumps


def restore(backup_path: Path, db_path: Path, site: str, *, other_site: bool = False) -> dict[str, Any]:
    """Put ``backup_path`` in place of ``db_path`` (the daemon must be stopped); returns what was done."""
    stamp = read_backup(backup_path)
    latest = max(migrations())
    if stamp["schema"] > latest:
        raise StoreTooNew(
            f"{backup_path} has schema v{stamp['schema']}, this appliance knows up to v{latest}: "
            "restore it with the newer appliance version"
        )
    if stamp["site"] != site and not other_site:
        raise UsageError(
            f"{backup_path} is a backup of site {stamp['site']!r}, this is {site!r}: refused "
            "(--other-site to move a site's data to this box on purpose)"
        )
    # What the database being replaced numbered: the best bound on what may have been sent.
    bounds: dict[str, int] = {}
    bound_source = "none"
    if db_path.exists():
        with contextlib.suppress(StoreError, sqlite3.Error):
            check_file(db_path)
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
            try:
                bounds = _stream_seqs(conn)
                bound_source = "database"
            finally:
                conn.close()
    highwater = read_highwater(db_path.parent)
    margin = 0
    if highwater and highwater.get("site") == site:
        hw = {s: int(q) for s, q in highwater["streams"].items()}
        if any(hw.get(s, 0) > bounds.get(s, 0) for s in hw):
            margin = HIGHWATER_MARGIN
            bounds = {s: max(hw.get(s, 0), bounds.get(s, 0)) for s in set(hw) | set(bounds)}
            bound_source = "highwater"
    if bound_source == "none":
        margin = BLIND_JUMP
        bounds = {s: int(q) for s, q in stamp["last_seqs"].items()}
    # Copy into place with the backup API (the live file's -wal/-shm stay coherent).
    src = sqlite3.connect(f"file:{backup_path}?mode=ro&immutable=1", uri=True)
    dst = sqlite3.connect(db_path, timeout=5.0)
    try:
        mode = dst.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{db_path}: cannot take the write lock (is the daemon running? stop it first)")
        src.backup(dst)
    except sqlite3.OperationalError as err:
        raise StoreError(f"{db_path}: {err} (is the daemon running? systemctl stop appliance)") from err
    finally:
        src.close()
        dst.close()
    # not migrated here: the daemon does that at start (and an older program restoring its
    # pre-upgrade backup must get that schema back, not this one's)
    store = Store.open(db_path, migrate=False)
    try:
        with store.transaction():
            store.conn.execute("DELETE FROM meta WHERE key LIKE 'backup.%'")
        jumps = _jump_streams(store, "restore", bounds, margin, stamp["taken_at"])
        write_highwater(store, site)
    finally:
        store.close()
    return {"restored": str(backup_path), "site": stamp["site"], "backup_taken_at": stamp["taken_at"],
            "backup_schema": stamp["schema"], "seq_bound_from": bound_source, "jumps": jumps}


def check_highwater(store: Store, site: str) -> dict[str, list[int]]:
    """At start-up: a database behind its high-water file was put back by hand: recover."""
    highwater = read_highwater(store.path.parent)
    if not highwater or highwater.get("site") != site:
        return {}
    current = _stream_seqs(store.conn)
    behind = {s: int(q) for s, q in highwater["streams"].items() if int(q) > current.get(s, 0)}
    if not behind:
        return {}
    log.error(
        "database %s is behind its uplink high-water file (an older copy was put back?): "
        "moving seqs on so none is reused", store.path,
    )
    jumps = _jump_streams(store, "rollback-detected", behind, HIGHWATER_MARGIN, None)
    write_highwater(store, site)
    return jumps
