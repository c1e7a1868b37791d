"""The call log: read side (the phone-line part writes it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.store.db import Store

CALL_FIELDS = (
    "id", "direction", "number", "number_absent_reason", "caller_name", "contact_id", "started_at",
    "answered_at", "ended_at", "outcome", "notification_id", "recording", "detail",
)


def list_calls(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Finished and current calls, newest first."""
    rows = store.conn.execute(
        f"SELECT {', '.join(CALL_FIELDS)} FROM calls ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
    ).fetchall()
    calls = []
    for row in rows:
        call = dict(zip(CALL_FIELDS, row, strict=True))
        call["detail"] = json.loads(call["detail"] or "{}")
        calls.append(call)
    return calls
