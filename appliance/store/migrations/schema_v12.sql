-- v12: follow-up calls (issue 10, "Follow-up calls"; owned by appliance/followups/).
-- A follow-up schedule whose channel is a call is not sent: when due it waits in the desk's
-- call-back list, and each attempt is the desk's call with its recorded outcome.

ALTER TABLE followups ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'call'));
CREATE INDEX followups_calls_due ON followups (next_due_at) WHERE status = 'active' AND channel = 'call';

-- followup_reminders again, with the outcomes of a call attempt allowed, who recorded it and
-- the desk survey session taken during the call (SQLite cannot change a CHECK in place).
CREATE TABLE followup_reminders_v12 (
    followup_id TEXT NOT NULL REFERENCES followups(followup_id),
    n           INTEGER NOT NULL,         -- 1-based
    due_at      TEXT NOT NULL,
    done_at     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('queued', 'blocked', 'answered', 'no_answer', 'busy', 'declined')),
    reason      TEXT,                     -- send_block_reason when blocked
    message_id  INTEGER,
    staff       TEXT,                     -- the page user who recorded a call attempt
    session_id  INTEGER,                  -- the desk survey session of a call attempt
    PRIMARY KEY (followup_id, n)
);
INSERT INTO followup_reminders_v12(followup_id, n, due_at, done_at, outcome, reason, message_id)
    SELECT followup_id, n, due_at, done_at, outcome, reason, message_id FROM followup_reminders;
DROP TABLE followup_reminders;
ALTER TABLE followup_reminders_v12 RENAME TO followup_reminders;
