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
    concat_ref      INTEGER,                -- outbox: concatenation reference (same on every retry)
    sent_at         TEXT,                   -- outbox: when the modem accepted the last part
    delivered_at    TEXT,                   -- outbox: when the last delivery report said delivered
    smsc_time       TEXT,                   -- inbox: the service centre's time stamp (first part)
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- The sender claims due rows in id order: (status, id) keeps that a short index walk at any queue size.
CREATE INDEX sms_queue ON sms_messages (status, id) WHERE box = 'outbox';
CREATE INDEX sms_expiry ON sms_messages (expires_at)
    WHERE box = 'outbox' AND status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX sms_box_created ON sms_messages (box, id);
-- counts by status for `appliance status` and /metrics: an index scan, not a table scan
CREATE INDEX sms_status ON sms_messages (status);

-- One row per PDU part of an outbound message, with the modem's reference for delivery reports.
CREATE TABLE sms_parts (
    message_id  INTEGER NOT NULL REFERENCES sms_messages(id),
    part        INTEGER NOT NULL,           -- 1-based
    reference   INTEGER,                    -- +CMGS message reference (0-255, wraps)
    status      TEXT NOT NULL DEFAULT 'queued',   -- queued, sent, delivered, pending, failed
    sent_at     TEXT,
    report_at   TEXT,
    report_status INTEGER,                  -- TP-ST of the last report
    PRIMARY KEY (message_id, part)
);
-- References wrap at 255: a report is matched by reference + recipient + the most recent send.
CREATE INDEX sms_parts_ref ON sms_parts (reference, sent_at);

-- Every received PDU part, kept for de-duplication (modems deliver by +CMT and keep a copy too)
-- and, while message_id is NULL, as a fragment waiting for the other parts of its message.
CREATE TABLE sms_in_parts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sender       TEXT NOT NULL,
    smsc_time    TEXT NOT NULL,             -- TP-SCTS, RFC 3339 with its offset as sent
    concat_ref   INTEGER NOT NULL,          -- -1: not concatenated
    concat_total INTEGER NOT NULL,
    concat_seq   INTEGER NOT NULL,
    text_hash    TEXT NOT NULL,
    text         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    message_id   INTEGER REFERENCES sms_messages(id),
    UNIQUE (sender, smsc_time, concat_ref, concat_seq, text_hash)
);
CREATE INDEX sms_in_waiting ON sms_in_parts (sender, concat_ref, concat_total) WHERE message_id IS NULL;
CREATE INDEX sms_in_received ON sms_in_parts (received_at);
