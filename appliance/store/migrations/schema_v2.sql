-- v2: SMS outbox and inbox (owned by appliance/sms/).

CREATE TABLE sms_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    box             TEXT NOT NULL CHECK (box IN ('outbox', 'inbox')),
    number          TEXT NOT NULL,          -- E.164 where it parses, else as received (alphanumeric senders)
    text            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                    ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'unknown', 'received')),
    parts           INTEGER NOT NULL DEFAULT 1,
    notification_id TEXT UNIQUE,            -- idempotency key of a central notification request
    contact_id      TEXT,
    not_before      TEXT,                   -- RFC 3339 UTC; NULL: at once
    expires_at      TEXT,                   -- RFC 3339 UTC; NULL: never
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                   -- RFC 3339 UTC; back-off after a failed try
    last_error      TEXT,
    incomplete      INTEGER NOT NULL DEFAULT 0,   -- inbox: a multipart message with parts missing
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX sms_due ON sms_messages (status, not_before) WHERE box = 'outbox';
CREATE INDEX sms_box_created ON sms_messages (box, id);

-- One row per PDU part of an outbound message, with the modem's reference for delivery reports.
CREATE TABLE sms_parts (
    message_id  INTEGER NOT NULL REFERENCES sms_messages(id),
    part        INTEGER NOT NULL,           -- 1-based
    reference   INTEGER,                    -- +CMGS message reference (0-255, wraps)
    status      TEXT NOT NULL DEFAULT 'queued',
    sent_at     TEXT,
    report_at   TEXT,
    PRIMARY KEY (message_id, part)
);
CREATE INDEX sms_parts_ref ON sms_parts (reference, sent_at);
