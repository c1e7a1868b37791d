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

-- Text search over the messages (the inbox/outbox/failed pages): an FTS5 index with the
-- trigram tokenizer, so any 3+ character piece of a word is found (what LIKE '%...%' found,
-- case-insensitive), in any script (Chinese has no spaces). External content: the text is
-- stored once, in sms_messages.
-- The index is filled in batches (appliance/web/search.py, every 15 minutes), not by an
-- insert trigger: FTS5 writes a new segment per transaction, which nearly doubled the bytes
-- written for each SMS stored (SD card wear). Messages up to meta 'sms_text_upto' are in the
-- index; newer ones are searched by LIKE (a few minutes' worth). Deletes and text changes of
-- indexed messages go through the triggers, in the same transaction as the change.
INSERT INTO meta(key, value) VALUES ('sms_text_upto', '0');
CREATE VIRTUAL TABLE sms_text USING fts5(text, content='sms_messages', content_rowid='id', tokenize='trigram');
CREATE TRIGGER sms_text_delete AFTER DELETE ON sms_messages
WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'sms_text_upto') BEGIN
    INSERT INTO sms_text(sms_text, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER sms_text_update AFTER UPDATE OF text ON sms_messages
WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'sms_text_upto') BEGIN
    INSERT INTO sms_text(sms_text, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO sms_text(rowid, text) VALUES (new.id, new.text);
END;
