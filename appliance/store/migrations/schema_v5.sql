-- v5: customer-service domain (contacts, consent/opt-out, surveys, complaints). Owned by the
-- workflows work (issue 9, packages contacts/, consent/, surveys/, complaints/, inbound/).

-- Contacts made on this box (an unknown caller or sender saved at the desk): never synced down.
ALTER TABLE contacts ADD COLUMN local INTEGER NOT NULL DEFAULT 0;

-- Possible duplicates, flagged (never merged) by the follow-up/summary work (schema v10 fills it).
CREATE TABLE contact_duplicates (
    contact_id   TEXT NOT NULL,
    duplicate_of TEXT NOT NULL,
    reason       TEXT NOT NULL,           -- same_number, similar_name_birth_year, ...
    score        REAL,                    -- how similar (0..1), where it applies
    flagged_at   TEXT NOT NULL,
    PRIMARY KEY (contact_id, duplicate_of)
);

-- The language an outgoing message was written in and why it was sent. The language is
-- fixed once written (the trigger below), whatever later happens to the contact.
ALTER TABLE sms_messages ADD COLUMN language TEXT;
ALTER TABLE sms_messages ADD COLUMN purpose TEXT;
CREATE TRIGGER sms_language_fixed BEFORE UPDATE OF language ON sms_messages
WHEN OLD.language IS NOT NULL AND NEW.language IS NOT OLD.language
BEGIN
    SELECT RAISE(ABORT, 'the language of a message is never changed');
END;

-- SMS consent by number, as the person said it by SMS (STOP / START). A row with
-- opted_out = 1 blocks every send to that number but the one confirmation.
CREATE TABLE sms_opt_outs (
    number     TEXT PRIMARY KEY,          -- E.164
    opted_out  INTEGER NOT NULL,
    contact_id TEXT,
    word       TEXT NOT NULL,             -- what they wrote (first 40 characters)
    message_id INTEGER,                   -- the inbound message that said it
    changed_at TEXT NOT NULL
);

-- Every consent change, kept.
CREATE TABLE consent_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    number     TEXT NOT NULL,
    contact_id TEXT,
    granted    INTEGER NOT NULL,
    source     TEXT NOT NULL,             -- sms_keyword, desk, ...
    word       TEXT,
    at         TEXT NOT NULL
);

-- What the inbound router did with each received message (one row per message: routing is
-- idempotent and survives a restart between receipt and routing).
CREATE TABLE sms_inbound_routes (
    message_id INTEGER PRIMARY KEY REFERENCES sms_messages(id),
    handled_as TEXT NOT NULL,             -- opt_out, opt_in, help, complaint, survey, sms_in, ...
    detail     TEXT NOT NULL DEFAULT '',
    routed_at  TEXT NOT NULL
);

-- Survey conversations (sms), keypad runs (call) and desk entries (desk).
CREATE TABLE survey_sessions (
    session_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id      TEXT NOT NULL,
    survey_version INTEGER NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('sms', 'call', 'desk')),
    contact_id     TEXT,
    number         TEXT,                  -- E.164
    language       TEXT NOT NULL,
    position       INTEGER NOT NULL DEFAULT 0,   -- index of the current question
    reasked        INTEGER NOT NULL DEFAULT 0,   -- the current question was asked again
    answers        TEXT NOT NULL DEFAULT '[]',   -- JSON [{"question_id", "value"}]
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'incomplete')),
    notification_id TEXT,
    started_at     TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    finished_at    TEXT
);
-- Never two open surveys for the same person.
CREATE UNIQUE INDEX survey_open_number ON survey_sessions (number) WHERE status = 'open' AND number IS NOT NULL;
CREATE UNIQUE INDEX survey_open_contact ON survey_sessions (contact_id)
    WHERE status = 'open' AND contact_id IS NOT NULL;
CREATE INDEX survey_sessions_survey ON survey_sessions (survey_id, status);
CREATE INDEX survey_sessions_open ON survey_sessions (status, last_activity_at);

-- Complaints opened on this box (sms, voice, desk). Anonymous: number and contact_id NULL.
CREATE TABLE complaints (
    complaint_id TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,    -- short, told to the complainant
    channel      TEXT NOT NULL CHECK (channel IN ('sms', 'voice', 'desk')),
    status       TEXT NOT NULL,           -- received, under_investigation, corrective_action, closed
    anonymous    INTEGER NOT NULL DEFAULT 0,
    contact_id   TEXT,
    number       TEXT,
    language     TEXT NOT NULL,
    text         TEXT,
    recording    TEXT,
    staff        TEXT,
    outcome      TEXT,
    corrective_action TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    closed_at    TEXT
);
CREATE INDEX complaints_created ON complaints (created_at);

-- Every status change of a complaint, kept.
CREATE TABLE complaint_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id TEXT NOT NULL REFERENCES complaints(complaint_id),
    status       TEXT NOT NULL,
    outcome      TEXT,
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL,           -- local, central
    envelope_id  TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX complaint_history_complaint ON complaint_history (complaint_id, id);

-- A call requested by the central with a survey (notifications carrying survey_id, channel call):
-- the phone line runs that survey on the keypad.
ALTER TABLE call_requests ADD COLUMN survey_id TEXT;

-- Messages received before this version are not routed afterwards (an old STOP or COMPLAINT
-- must not act months later).
INSERT INTO sms_inbound_routes(message_id, handled_as, detail, routed_at)
SELECT id, 'not_routed', 'received before schema v5', created_at FROM sms_messages WHERE box = 'inbox';
