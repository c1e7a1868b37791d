"""What messages cost: parts x ``sms.price_per_part`` (store thread for the figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.store.db import Store

SENT_STATUSES = ("sent", "delivered", "unknown")  # "unknown" may have been sent: counted as spent


def message_cost(parts: int, price_per_part: float) -> float:
    """The cost of one message of ``parts`` parts (rounded to 1/10000 of the currency)."""
    return round(max(0, int(parts)) * float(price_per_part), 4)


def sms_figures(
    store: Store, price_per_part: float, *, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """Outbound SMS created in ``since..until`` (RFC 3339): sent, failed, parts and cost,
    also per purpose and per language (the daily summary and the page)."""
    rows = store.conn.execute(
        "SELECT status, parts, COALESCE(purpose, ''), COALESCE(language, '') FROM sms_messages "
        "WHERE box = 'outbox' AND created_at >= ? AND created_at < ?",
        (since or "", until or "9999"),
    ).fetchall()
    out: dict[str, Any] = {"sent": 0, "failed": 0, "queued": 0, "parts": 0, "cost": 0.0,
                           "by_purpose": {}, "by_language": {}}
    for status, parts, purpose, language in rows:
        if status in SENT_STATUSES:
            out["sent"] += 1
            out["parts"] += int(parts)
            for key, name in (("by_purpose", purpose or "other"), ("by_language", language or "unknown")):
                out[key][name] = out[key].get(name, 0) + 1
        elif status in ("failed", "expired"):
            out["failed"] += 1
        else:
            out["queued"] += 1
    out["cost"] = message_cost(out["parts"], price_per_part)
    return out
