-- v7: the status page (server-side sessions, roles, alerts, audit log, message paging). Issue 10.

-- Roles: 'technician' (everything) and 'desk' (no configuration, no diagnostics, no modem actions).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'technician';
-- The page language the user chose (en, fi, sv, zh); NULL: the browser's.
ALTER TABLE users ADD COLUMN language TEXT;

-- Logged-in browsers. Only a hash of the cookie's token is kept, so a copy of the
-- database cannot be replayed as a login. Logout, a password change and
-- `appliance users remove` delete the rows: the session stops at the next request.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,          -- sha256 hex of the cookie token
    username    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,             -- RFC 3339 UTC
    address     TEXT                       -- where the login came from
);
CREATE INDEX web_sessions_user ON web_sessions (username);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Conditions that need a human. One row per occurrence: it opens when the condition
-- starts, may be acknowledged, and closes itself when the condition ends.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,         -- message_in_doubt, sim_full, modem_hung, low_signal, disk_low, ...
    subject         TEXT NOT NULL DEFAULT '',   -- what it is about within the kind ('' for the box)
    state           TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'closed')),
    detail          TEXT NOT NULL DEFAULT '',
    opened_at       TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    closed_at       TEXT
);
CREATE UNIQUE INDEX alerts_current ON alerts (kind, subject) WHERE state != 'closed';
CREATE INDEX alerts_opened ON alerts (opened_at);

-- Every action taken on the status page, with who took it.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    username TEXT NOT NULL,
    action   TEXT NOT NULL,                -- retry, cancel, pause_sending, test_sms, dial, reset_modem, ...
    target   TEXT NOT NULL DEFAULT '',     -- message ids, alert id (never a full phone number)
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The message pages page by id within a box, filtered by status or by number:
-- each filter is an index walk from the last id shown, at any table size.
CREATE INDEX sms_box_status_id ON sms_messages (box, status, id);
CREATE INDEX sms_box_number_id ON sms_messages (box, number, id);
-- today's figures and the messages-per-day chart read a range of creation times
CREATE INDEX sms_created ON sms_messages (created_at, box, status);  -- covering: no row reads
