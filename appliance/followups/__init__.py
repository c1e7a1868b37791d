"""Follow-up schedules: repeating SMS reminders per contact (see ``followups.py``)."""

from appliance.followups.followups import (
    Followup,
    FollowupSettings,
    create_followup,
    list_followups,
    next_due_time,
    on_reply,
    on_survey_completed,
    recompute_due,
    run_due,
    scan_stops,
    stop_followups,
)
from appliance.followups.schedule import Schedule

__all__ = [
    "Followup",
    "FollowupSettings",
    "Schedule",
    "create_followup",
    "list_followups",
    "next_due_time",
    "on_reply",
    "on_survey_completed",
    "recompute_due",
    "run_due",
    "scan_stops",
    "stop_followups",
]
