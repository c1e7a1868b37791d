-- v6: the phone line (call flow, menus, recordings, outbound attempts). Reserved for issue 8.

-- Every DTMF key of the call, in order, each once (INTERFACES §2 `keys`), and the
-- language the menu spoke.
ALTER TABLE calls ADD COLUMN keys TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN language TEXT;
CREATE INDEX calls_ended ON calls (ended_at);

-- Outbound calls asked for by `appliance calls dial` (another process) or the page:
-- the daemon claims a queued job, tries the numbers in order and lists each
-- attempt's calls.id in `attempts` (JSON list) as it dials.
CREATE TABLE call_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    numbers         TEXT NOT NULL,            -- JSON list of E.164 numbers, tried in order
    contact_id      TEXT,
    notification_id TEXT,                     -- a call request from the central, if any
    requested_by    TEXT,                     -- cli, desk, call_request
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'dialing', 'done', 'failed')),
    outcome         TEXT,                     -- answered, busy, no_answer, failed
    attempts        TEXT NOT NULL DEFAULT '[]',
    error           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX call_jobs_status ON call_jobs (status, id);
