"""The SQLite store: one file, WAL mode, versioned migrations, the event outbox."""

from appliance.store.db import Store, utcnow
from appliance.store.outbox import Event, EventOutbox

__all__ = ["Event", "EventOutbox", "Store", "utcnow"]
