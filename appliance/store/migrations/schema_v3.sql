-- v3: MQTT sync with the central system (owned by appliance/sync/ and appliance/notifications/).

-- Downlink envelope ids already applied: a redelivered message is PUBACKed and skipped.
-- Pruned by age and count (appliance/sync/processed.py); `ack` envelopes are not recorded
-- (a watermark applied twice changes nothing).
CREATE TABLE sync_downlink_ids (
    id          TEXT PRIMARY KEY,
    stream      TEXT NOT NULL,
    seq         INTEGER,
    outcome     TEXT NOT NULL,            -- applied, ignored (older version), refused
    received_at TEXT NOT NULL
);
CREATE INDEX sync_downlink_ids_age ON sync_downlink_ids (received_at);

-- Contacts shared by the central system. A delete keeps the row as a tombstone
-- (deleted = 1, personal data cleared) with its version, so a late, older upsert
-- cannot bring the contact back.
CREATE TABLE contacts (
    contact_id          TEXT PRIMARY KEY,
    version             INTEGER NOT NULL,
    deleted             INTEGER NOT NULL DEFAULT 0,
    name                TEXT,
    language            TEXT,
    birth_date          TEXT,                 -- YYYY-MM-DD
    sex                 TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',   -- JSON list
    consent_sms         INTEGER NOT NULL DEFAULT 0,
    consent_call        INTEGER NOT NULL DEFAULT 0,
    consent_recording   INTEGER NOT NULL DEFAULT 0,
    guardian_contact_id TEXT,
    data                TEXT NOT NULL DEFAULT '{}',   -- the contact object as received
    updated_at          TEXT NOT NULL
);

-- A contact's phones in order (position 0 preferred), E.164.
CREATE TABLE contact_phones (
    contact_id TEXT NOT NULL REFERENCES contacts(contact_id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    number     TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
);
CREATE INDEX contact_phones_number ON contact_phones (number);

-- Every notification request from the central, by its idempotency key, and what became of it.
CREATE TABLE notification_requests (
    notification_id TEXT PRIMARY KEY,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'call')),
    contact_id      TEXT,
    recipient       TEXT,                 -- E.164 actually used (the guardian's for a child)
    status          TEXT NOT NULL,        -- queued, pending (call), refused
    reason          TEXT,                 -- why refused (no_consent, unknown_contact, ...)
    message_id      INTEGER,              -- sms_messages.id when queued
    envelope_id     TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- Calls requested by the central (channel "call"), waiting for the phone-line part.
CREATE TABLE call_requests (
    notification_id TEXT PRIMARY KEY REFERENCES notification_requests(notification_id),
    contact_id      TEXT,
    number          TEXT NOT NULL,        -- E.164
    language        TEXT NOT NULL,
    text            TEXT NOT NULL,        -- what to say (rendered template or given text)
    not_before      TEXT,                 -- RFC 3339 UTC
    expires_at      TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX call_requests_due ON call_requests (status, not_before);

-- Survey definitions by id; a newer version replaces an older one.
CREATE TABLE surveys (
    survey_id   TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    definition  TEXT NOT NULL,            -- the data object as received (JSON)
    updated_at  TEXT NOT NULL
);

-- The central's view of each complaint (status, outcome), latest first wins.
CREATE TABLE complaint_status (
    complaint_id TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    outcome      TEXT,
    data         TEXT NOT NULL,           -- the data object as received (JSON)
    envelope_id  TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
