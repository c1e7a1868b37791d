"""A ``campaigns`` downlink message: start, cancel or dry-run an education campaign.

``data``: ``campaign_id``, optional ``action`` (``start``, the default;
``cancel``; ``dry_run``), and for start/dry-run the definition: ``segment``,
``text`` (string or ``{lang: text}``) or ``template`` + ``params``, optional
``title``, ``rate_per_minute``, ``not_before``, ``expires_at``. A start is
idempotent by ``campaign_id``. The answer goes up on the ``campaign`` stream
(``status``: ``running``, ``cancelled``, ``finished``, ``dry_run`` with the
counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.campaigns.campaigns import (
    EVENT_STREAM,
    CampaignSettings,
    cancel_campaign,
    dry_run,
    start_campaign,
)
from appliance.store.outbox import EventOutbox

if TYPE_CHECKING:
    from appliance.store.db import Store

DEFINITION_KEYS = ("segment", "text", "template", "params", "title", "rate_per_minute")


def apply_campaign(store: Store, settings: CampaignSettings, data: dict[str, Any], envelope_id: str) -> str:
    """Apply one ``campaigns`` message (store thread, in the downlink's transaction)."""
    campaign_id = data["campaign_id"]
    action = data.get("action", "start")
    if action == "cancel":
        return "applied" if cancel_campaign(store, campaign_id) else "ignored"
    definition = {k: data[k] for k in DEFINITION_KEYS if k in data}
    if action == "dry_run":
        result = dry_run(store, settings, definition)
        result.pop("texts", None)
        EventOutbox(store).append(EVENT_STREAM, {"campaign_id": campaign_id, "status": "dry_run", **result})
        return "applied"
    start_campaign(
        store, settings, campaign_id, definition, source="central", not_before=data.get("not_before"),
        expires_at=data.get("expires_at"), envelope_id=envelope_id,
    )
    return "applied"
