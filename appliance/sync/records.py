"""Survey definitions and complaint updates from the central system (store thread)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store


def apply_survey(store: Store, data: dict[str, Any]) -> str:
    """Store a survey definition; an older or equal version is ignored."""
    conn = store.conn
    row = conn.execute(
        "SELECT version FROM surveys WHERE survey_id = ?", (data["survey_id"],)
    ).fetchone()
    if row is not None and int(data["version"]) <= int(row[0]):
        return "ignored"
    conn.execute(
        "INSERT INTO surveys(survey_id, version, definition, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(survey_id) DO UPDATE SET version = excluded.version, "
        "definition = excluded.definition, updated_at = excluded.updated_at",
        (
            data["survey_id"],
            int(data["version"]),
            json.dumps(data, ensure_ascii=False, sort_keys=True),
            utcnow(),
        ),
    )
    return "applied"


def apply_complaint_update(store: Store, data: dict[str, Any], envelope_id: str) -> str:
    """Store the central's status (and outcome) of a complaint; the latest message wins."""
    store.conn.execute(
        "INSERT INTO complaint_status(complaint_id, status, outcome, data, envelope_id, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(complaint_id) DO UPDATE SET status = excluded.status, "
        "outcome = COALESCE(excluded.outcome, complaint_status.outcome), data = excluded.data, "
        "envelope_id = excluded.envelope_id, updated_at = excluded.updated_at",
        (
            data["complaint_id"],
            data["status"],
            data.get("outcome"),
            json.dumps(data, ensure_ascii=False, sort_keys=True),
            envelope_id,
            utcnow(),
        ),
    )
    return "applied"
