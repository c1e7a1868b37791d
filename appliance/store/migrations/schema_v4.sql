-- v4: the call log (filled by the phone-line part; read by `appliance calls list`,
-- the status page, and the `call` uplink stream).

CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    number      TEXT,                 -- E.164 where known; NULL when withheld/unavailable
    number_absent_reason TEXT,        -- private, unavailable (from caller ID)
    caller_name TEXT,                 -- as sent on the line (hostile text: escape when shown)
    contact_id  TEXT,
    started_at  TEXT NOT NULL,        -- RFC 3339 UTC: first ring (in) or dialing (out)
    answered_at TEXT,
    ended_at    TEXT,                 -- NULL while the call is current
    outcome     TEXT,                 -- answered, missed, busy, no_answer, failed, voicemail, ivr, ...
    notification_id TEXT,             -- an outbound call placed for a central request
    recording   TEXT,                 -- path of the recording, if any
    detail      TEXT NOT NULL DEFAULT '{}'  -- JSON: menu path, DTMF keys, caller-ID format
);
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_number ON calls (number);
