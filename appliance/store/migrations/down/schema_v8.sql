-- down from v8 to v7: the field-operations tables (their content is bookkeeping only).
DROP TABLE retention_runs;
DROP TABLE store_generations;
