-- v10: follow-up schedules, education campaigns, the daily summary (issue 9, second half;
-- owned by appliance/followups/, appliance/campaigns/, appliance/summary/).

-- One repeating reminder schedule per row ("first after M days, then every N days, at most K
-- times, at H:MM local"). next_due_at is derived from anchor_date + the schedule in
-- site.timezone (recomputed, never accumulated), so DST changes keep the local hour.
CREATE TABLE followups (
    followup_id  TEXT PRIMARY KEY,        -- the notification_id that carried the schedule (or tmpl:<id>)
    source       TEXT NOT NULL,           -- central, template
    contact_id   TEXT,
    number       TEXT NOT NULL,           -- E.164 reached (the guardian's for a child)
    language     TEXT NOT NULL,
    text         TEXT NOT NULL,           -- the reminder, rendered when the schedule was made
    survey_id    TEXT,                    -- a completed reply to this survey stops the schedule
    schedule     TEXT NOT NULL,           -- JSON: first_after_days, every_days, max_times, hour, minute
    anchor_date  TEXT NOT NULL,           -- local YYYY-MM-DD the days are counted from
    expires_at   TEXT,                    -- RFC 3339 UTC: no reminder after this
    sent_count   INTEGER NOT NULL DEFAULT 0,   -- reminders done (queued or blocked)
    last_sent_at TEXT,
    next_due_at  TEXT,                    -- RFC 3339 UTC; NULL once finished or stopped
    status       TEXT NOT NULL CHECK (status IN ('active', 'finished', 'stopped')),
    stop_reason  TEXT,                    -- replied, central, survey_completed, opted_out, expired, ...
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX followups_due ON followups (next_due_at) WHERE status = 'active';
CREATE INDEX followups_active_number ON followups (number) WHERE status = 'active';
CREATE INDEX followups_contact ON followups (contact_id);

-- Each reminder of a schedule, once: the primary key makes a second one impossible.
CREATE TABLE followup_reminders (
    followup_id TEXT NOT NULL REFERENCES followups(followup_id),
    n           INTEGER NOT NULL,         -- 1-based
    due_at      TEXT NOT NULL,
    done_at     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('queued', 'blocked')),
    reason      TEXT,                     -- send_block_reason when blocked
    message_id  INTEGER,
    PRIMARY KEY (followup_id, n)
);

-- Education campaigns: a segment of local contacts, one message each, paced.
CREATE TABLE campaigns (
    campaign_id     TEXT PRIMARY KEY,
    source          TEXT NOT NULL,        -- central, config, cli
    title           TEXT,
    segment         TEXT NOT NULL,        -- JSON: age_min, age_max, sex, tags_any, tags_all, languages
    message         TEXT NOT NULL,        -- JSON: {"text": str | {lang: str}} or {"template", "params"}
    status          TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled')),
    rate_per_minute INTEGER,              -- NULL: campaigns.rate_per_minute
    not_before      TEXT,
    expires_at      TEXT,
    recipients      INTEGER NOT NULL DEFAULT 0,
    envelope_id     TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX campaigns_running ON campaigns (status);

-- The segment, fixed when the campaign starts: one row per number (two contacts sharing a phone
-- get one message). The key makes "each recipient exactly once" a property of the store; the row
-- turns 'queued' in the transaction that queues its SMS, so a crash re-does nothing twice.
CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    number      TEXT NOT NULL,            -- E.164
    contact_id  TEXT,
    language    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'queued', 'blocked', 'expired')),
    reason      TEXT,
    message_id  INTEGER,
    parts       INTEGER,
    done_at     TEXT,
    PRIMARY KEY (campaign_id, number)
);
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id) WHERE status = 'pending';
CREATE INDEX campaign_recipients_done ON campaign_recipients (done_at) WHERE status = 'queued';

-- One daily summary per local day, whatever restarts happen.
CREATE TABLE daily_summaries (
    day     TEXT PRIMARY KEY,             -- local YYYY-MM-DD in site.timezone
    figures TEXT NOT NULL,                -- JSON, as sent up in the daily_summary event
    sent_at TEXT NOT NULL
);

-- Blocking index for duplicate detection (appliance/contacts/duplicates.py): one row per
-- normalised name token of each contact with a birth year. Candidates for a name match are
-- the contacts born the same year sharing a token, found without comparing every pair.
CREATE TABLE contact_name_tokens (
    birth_year INTEGER NOT NULL,
    token      TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (birth_year, token, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_name_tokens_contact ON contact_name_tokens (contact_id);
