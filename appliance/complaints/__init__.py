"""Complaints through to closure (DOMAIN.md "Complaints")."""

from appliance.complaints.core import (
    CHANNELS,
    COMPLAINT_STREAM,
    STATUSES,
    Complaint,
    apply_update,
    complaint_figures,
    complete_text,
    fold_status,
    get_complaint,
    history,
    list_complaints,
    open_complaint,
)
from appliance.complaints.keywords import complaint_keyword

__all__ = [
    "CHANNELS",
    "COMPLAINT_STREAM",
    "STATUSES",
    "Complaint",
    "apply_update",
    "complaint_figures",
    "complaint_keyword",
    "complete_text",
    "fold_status",
    "get_complaint",
    "history",
    "list_complaints",
    "open_complaint",
]
