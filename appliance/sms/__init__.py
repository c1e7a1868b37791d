"""SMS: the durable outbox and inbox (domain layer over the store)."""
