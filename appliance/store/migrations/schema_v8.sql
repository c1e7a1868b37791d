-- v8: field operations (issue 11): the store's generations (restores and seq jumps), retention runs.

-- Every restore (or detected roll-back of the file) starts a new generation. Its row says which
-- uplink seqs were skipped per stream so that no seq is ever given to two different events
-- (sync/PROTOCOL.md "Restores"). Generation 0 is the database as first created.
CREATE TABLE store_generations (
    generation    INTEGER PRIMARY KEY,
    reason        TEXT NOT NULL,          -- restore, rollback-detected
    backup_taken  TEXT,                   -- the restored backup's time, RFC 3339 UTC
    jumps         TEXT NOT NULL DEFAULT '{}',  -- JSON {stream: [last seq in the backup, new last seq]}
    created_at    TEXT NOT NULL
);

-- What the retention policy removed, per run (for the status page and the audit trail).
CREATE TABLE retention_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    removed     TEXT NOT NULL DEFAULT '{}',    -- JSON {what: count}
    bytes_freed INTEGER NOT NULL DEFAULT 0
);
