-- v1: the backbone. Key-value facts, the durable event outbox, part health.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Transactional outbox: every uplink event is written here in the same
-- transaction as the business change it reports, and kept until the central
-- system's `ack` watermark for its stream covers it.
CREATE TABLE event_streams (
    stream    TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL DEFAULT 0,   -- highest seq given out
    acked_seq INTEGER NOT NULL DEFAULT 0    -- central's watermark: all <= this are stored there
);

CREATE TABLE events (
    n          INTEGER PRIMARY KEY AUTOINCREMENT,  -- global creation order
    id         TEXT NOT NULL UNIQUE,               -- envelope id, stable across retries
    stream     TEXT NOT NULL REFERENCES event_streams(stream),
    seq        INTEGER NOT NULL,
    ts         TEXT NOT NULL,                      -- RFC 3339 UTC, the appliance's clock
    data       TEXT NOT NULL,                      -- JSON object
    acked_at   TEXT,                               -- NULL until the central acknowledged it
    UNIQUE (stream, seq)
);
CREATE INDEX events_unacked ON events (n) WHERE acked_at IS NULL;

-- Health of each supervised part, written by the running daemon for `appliance status`.
CREATE TABLE service_health (
    name       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,      -- starting, ok, degraded, failed, stopped
    detail     TEXT NOT NULL DEFAULT '',
    info       TEXT NOT NULL DEFAULT '{}',   -- JSON: part-specific figures (signal, backlog, ...)
    restarts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    since      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
