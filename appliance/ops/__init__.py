"""Field operations: backup and restore, upgrades and their way back, retention, the clock."""
