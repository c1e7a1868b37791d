-- down from v12 to v11: follow-up calls go (their schedules and attempts with them: v11 would
-- send a call schedule's text as SMS reminders, which nobody asked for).
CREATE TABLE followup_reminders_v11 (
    followup_id TEXT NOT NULL REFERENCES followups(followup_id),
    n           INTEGER NOT NULL,         -- 1-based
    due_at      TEXT NOT NULL,
    done_at     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('queued', 'blocked')),
    reason      TEXT,                     -- send_block_reason when blocked
    message_id  INTEGER,
    PRIMARY KEY (followup_id, n)
);
INSERT INTO followup_reminders_v11(followup_id, n, due_at, done_at, outcome, reason, message_id)
    SELECT r.followup_id, r.n, r.due_at, r.done_at, r.outcome, r.reason, r.message_id FROM followup_reminders r
    JOIN followups f ON f.followup_id = r.followup_id WHERE f.channel = 'sms';
DROP TABLE followup_reminders;
ALTER TABLE followup_reminders_v11 RENAME TO followup_reminders;
DELETE FROM followups WHERE channel = 'call';
DROP INDEX followups_calls_due;
ALTER TABLE followups DROP COLUMN channel;
