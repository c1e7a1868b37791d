"""The SQLite store: open, check, migrate, and run work off the event loop.

How blocking SQLite meets asyncio: the daemon owns one connection, used only by
one dedicated thread (a single-worker executor). Coroutines hand it a function
with ``await store.run(fn, *args)``; the function runs whole in that thread,
usually inside ``store.transaction()``, so a business row and its outbox event
commit together and the event loop never waits on the disk. One writer thread
also matches SQLite's one-writer rule, so the daemon never meets its own
``database is locked``. Other processes (``appliance sms send`` while the
daemon runs) open their own connection and wait on the 5 s busy timeout; WAL
lets readers go on meanwhile.

Durability: commits use ``synchronous=NORMAL`` (safe against crashes, may lose
the last commits on power loss), except ``transaction(durable=True)``, used
where the commit acknowledges something to the outside world (an MQTT PUBACK, a
message deleted from the SIM, a message id printed to a user): those commit
with ``synchronous=FULL``, which also makes every earlier WAL commit durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.request import pathname2url

import sqlite_utils

from appliance.errors import StoreCorrupt, StoreError, StoreFull, StoreTooNew
from appliance.timefmt import utcnow

__all__ = [  # utcnow is re-exported: its home is appliance.timefmt
    "BUSY_TIMEOUT_S", "Store", "check_file", "migrations", "row_dict", "split_statements", "translate_error", "utcnow",
]

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0
_MIGRATION_NAME = re.compile(r"^schema_v(\d+)\.sql$")

P = ParamSpec("P")
T = TypeVar("T")


def migrations() -> dict[int, str]:
    """{version: SQL} of every migration shipped in ``appliance/store/migrations``."""
    found: dict[int, str] = {}
    for entry in resources.files("appliance.store.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found[int(m.group(1))] = entry.read_text(encoding="utf-8")
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (executescript would commit mid-migration)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and line.strip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()
    ):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {pending[:60]!r}")
    return statements


class Store:
    """The appliance's SQLite database (WAL, migrated, integrity-checked at open).

    ``Store.open(path)`` creates the file if missing, refuses a corrupt one
    (``StoreCorrupt``, the file untouched) and applies pending migrations in one
    transaction. ``db`` is a ``sqlite_utils.Database`` over the connection.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, min_free_bytes: int = 0) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.min_free_bytes = min_free_bytes
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.RLock()
        self._pending_signals: set[str] = set()
        self.on_commit_signal: Callable[[str], None] | None = None

    # -- opening -------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, min_free_mb: int = 0, migrate: bool = True) -> Store:
        path = Path(path)
        if path.exists():
            check_file(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open database {path}: {err}") from err
        store = cls(path, conn, min_free_mb * 1024 * 1024)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            with store.db.ensure_autocommit_on():
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"database {path}: WAL mode refused (journal_mode is {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                store.migrate()
        except sqlite3.Error as err:
            conn.close()
            raise translate_error(err, path) from err
        except BaseException:
            conn.close()
            raise
        return store

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Apply every pending migration in one transaction; return the new version."""
        available = migrations()
        latest = max(available, default=0)
        current = self.schema_version
        if current > latest:
            raise StoreTooNew(
                f"database {self.path} has schema v{current}, this appliance knows up to v{latest}: "
                "install the newer appliance version, or restore a backup"
            )
        if current == latest:
            return current
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for version in range(current + 1, latest + 1):
                for statement in split_statements(available[version]):
                    self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {latest}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        log.info("store %s migrated from schema v%d to v%d", self.path, current, latest)
        return latest

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA optimize")
        self.conn.close()

    # -- transactions --------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite_utils.Database]:
        """One atomic unit of work (nests as a savepoint). ``durable``: fsync at commit.

        The outermost level starts with ``BEGIN IMMEDIATE``: it takes the write lock
        at once, waiting out the busy timeout if another process holds it. A plain
        ``BEGIN`` would fail at its first write, without waiting, when another
        process committed after its first read.
        """
        with self._lock:
            if self.conn.in_transaction:
                try:
                    with self.db.atomic():
                        yield self.db
                except sqlite3.Error as err:
                    raise translate_error(err, self.path) from err
                return
            if durable:
                self.conn.execute("PRAGMA synchronous = FULL")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                yield self.db
                self.conn.execute("COMMIT")
            except BaseException as err:
                self._pending_signals.clear()
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise translate_error(err, self.path) from err
                raise
            finally:
                if durable:
                    self.conn.execute("PRAGMA synchronous = NORMAL")
            self._fire_signals()

    def signal_after_commit(self, name: str) -> None:
        """Raise wake-up ``name`` once the current transaction commits (nothing on rollback)."""
        self._pending_signals.add(name)
        if not self.conn.in_transaction:
            self._fire_signals()

    def _fire_signals(self) -> None:
        names, self._pending_signals = self._pending_signals, set()
        if self.on_commit_signal is not None:
            for name in sorted(names):
                self.on_commit_signal(name)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` now, in this thread (CLI commands and code already on the store thread)."""
        with self._lock:
            return fn(*args, **kwargs)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the store's own thread and await its result (daemon code)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self.call(fn, *args, **kwargs))

    # -- health --------------------------------------------------------------

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    def disk_low(self) -> bool:
        """True when the disk under the store has less free space than configured."""
        return self.free_bytes() < self.min_free_bytes

    def check_writable(self) -> None:
        """Raise StoreError unless a write transaction can start now (for /healthz)."""
        if self.disk_low():
            raise StoreFull(f"disk under {self.path} has less than the configured free space")
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.execute("ROLLBACK")
            except sqlite3.Error as err:
                raise translate_error(err, self.path) from err

    # -- small key-value facts ----------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def check_file(path: Path) -> None:
    """Refuse a file that is not a healthy SQLite database, without writing to it."""
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise StoreError(f"cannot read database {path}: {err.strerror}") from err
    if header == b"" and path.stat().st_size == 0:
        return  # an empty file is a new database
    if header != SQLITE_MAGIC:
        raise StoreCorrupt(
            f"database {path} is not an SQLite file (bad header); left untouched: "
            "move it aside or restore a backup"
        )
    # Without a -wal file beside it, read it as immutable: SQLite then creates no -wal/-shm
    # files, so a refused file's folder is left exactly as it was found.
    has_wal = Path(f"{path}-wal").exists()
    uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro" + ("" if has_wal else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as err:
        raise StoreCorrupt(f"database {path} cannot be opened: {err}") from err
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
    except sqlite3.DatabaseError as err:
        raise StoreCorrupt(
            f"database {path} failed its integrity check ({err}); left untouched: "
            "move it aside or restore a backup"
        ) from err
    finally:
        conn.close()
    if rows != ["ok"]:
        raise StoreCorrupt(
            f"database {path} failed its integrity check ({'; '.join(rows[:3])}); left untouched: "
            "move it aside or restore a backup"
        )


def translate_error(err: sqlite3.Error, path: Path) -> StoreError:
    """An sqlite3 error as the store's own error, naming the file."""
    text = str(err)
    if "disk is full" in text:
        return StoreFull(f"database {path}: {text}")
    if isinstance(err, sqlite3.DatabaseError) and "malformed" in text:
        return StoreCorrupt(f"database {path}: {text}")
    return StoreError(f"database {path}: {text}")


def row_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """sqlite3 row factory giving dicts."""
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
