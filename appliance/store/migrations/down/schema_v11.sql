-- down from v11 to v10: the signal history and the desk's contact notes (page data only).
DROP TABLE contact_notes;
DROP TABLE signal_history;
