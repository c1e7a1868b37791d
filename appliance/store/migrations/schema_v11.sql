-- v11: what the status page keeps across restarts (issue 10): the modem's signal over time,
-- and the desk's own notes on a contact (a synced contact's fields are the central's; the
-- note is this box's, so a contacts downlink never overwrites it).

-- One row per 5-minute bucket of the modem's +CSQ readings (taken every 30 s): 288 rows a
-- day, pruned after signal_history's KEEP_DAYS. A bucket written twice (a restart inside
-- it) is merged, not doubled.
CREATE TABLE signal_history (
    bucket_start TEXT PRIMARY KEY,        -- RFC 3339 UTC start of the bucket
    samples      INTEGER NOT NULL,        -- readings with a known signal
    unknown      INTEGER NOT NULL DEFAULT 0,  -- readings without one (+CSQ 99, no network)
    sum          INTEGER NOT NULL DEFAULT 0,  -- of the known readings (avg = sum / samples)
    min          INTEGER,
    max          INTEGER
);

CREATE TABLE contact_notes (
    contact_id  TEXT PRIMARY KEY,
    note        TEXT NOT NULL,
    updated_by  TEXT NOT NULL,            -- the page user who wrote it
    updated_at  TEXT NOT NULL
);
