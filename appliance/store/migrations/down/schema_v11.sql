-- down from v11 to v10: the signal history and the desk's contact notes (page data only).
DROP TABLE contact_notes;
DROP TABLE signal_history;
DROP TRIGGER sms_text_update;
DROP TRIGGER sms_text_delete;
DROP TABLE sms_text;
DELETE FROM meta WHERE key = 'sms_text_upto';
