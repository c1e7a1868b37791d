"""The daily summary: once per local day, at ``summary.time``, an SMS to each staff member and an event.

``send_due_summary`` is idempotent per local day: the ``daily_summaries`` row
(keyed by the local date), the SMS and the ``daily_summary`` uplink event are
written in one transaction, so a restart, a second daemon loop or a clock set
back cannot send a day twice. A box that was off at the configured time sends
the day's summary when it comes back the same local day; an earlier day that
was missed is not sent late (its figures stay available with
``appliance summary show --date``).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.followups.schedule import local_to_utc
from appliance.phone import mask
from appliance.sms.outbox import SmsOutbox
from appliance.store.outbox import EventOutbox
from appliance.summary.figures import day_figures, local_day, summary_text
from sync.envelope import utc_timestamp

if TYPE_CHECKING:
    from appliance.config import Config
    from appliance.store.db import Store

log = logging.getLogger(__name__)

EVENT_STREAM = "daily_summary"
PURPOSE = "summary"


@dataclass(frozen=True)
class SummarySettings:
    timezone: str = "UTC"
    time: str = ""  # "HH:MM" or "" (off)
    recipients: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (E.164, language)
    price_per_part: float = 0.0
    lab_name: str = "Lab"

    @classmethod
    def from_config(cls, config: Config) -> SummarySettings:
        from appliance.phone import to_e164

        return cls(
            timezone=config.site.timezone,
            time=config.summary.time,
            recipients=tuple(
                (to_e164(r["number"], config.site.country), r.get("language", "en"))
                for r in config.summary.recipients
            ),
            price_per_part=config.campaigns.price_per_part,
            lab_name=config.site.name or config.site.id,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.time)


def summary_time(settings: SummarySettings, day: date) -> datetime:
    """When local ``day``'s summary is due (UTC)."""
    hh, mm = (int(x) for x in settings.time.split(":"))
    return local_to_utc(day, time(hh, mm), ZoneInfo(settings.timezone))


def next_summary_at(settings: SummarySettings, now: datetime) -> datetime:
    """The next due time after ``now`` (today's if still ahead, else tomorrow's)."""
    today = local_day(now, settings.timezone)
    at = summary_time(settings, today)
    return at if at > now else summary_time(settings, today + timedelta(days=1))


def _block_reason(store: Store, number: str) -> str | None:
    consent = importlib.import_module("appliance.consent")  # wf-core's part (docs/DOMAIN.md)
    reason: str | None = consent.send_block_reason(store, number, PURPOSE)
    return reason


def send_due_summary(store: Store, settings: SummarySettings, now: datetime | None = None) -> dict[str, Any] | None:
    """Send today's summary if its time has come and it was not sent yet; return its figures (or None)."""
    if not settings.enabled:
        return None
    now = now or datetime.now(UTC)
    day = local_day(now, settings.timezone)
    if now < summary_time(settings, day):
        return None
    conn = store.conn
    if conn.execute("SELECT 1 FROM daily_summaries WHERE day = ?", (day.isoformat(),)).fetchone():
        return None
    return send_summary(store, settings, day, now)


def send_summary(
    store: Store, settings: SummarySettings, day: date, now: datetime | None = None
) -> dict[str, Any] | None:
    """Compute and send local ``day``'s summary (once: None when it was sent already)."""
    import json

    now = now or datetime.now(UTC)
    with store.transaction(durable=True):
        if store.conn.execute("SELECT 1 FROM daily_summaries WHERE day = ?", (day.isoformat(),)).fetchone():
            return None
        figures = day_figures(store, day, settings.timezone, settings.price_per_part)
        sent_to = []
        for number, language in settings.recipients:
            reason = _block_reason(store, number)
            if reason is not None:
                log.warning("daily summary to %s not sent: %s", mask(number), reason)
                continue
            SmsOutbox(store).enqueue(
                number, summary_text(figures, language, settings.lab_name),
                notification_id=f"summary:{day.isoformat()}:{number}",
            )
            sent_to.append(language)
        figures = {**figures, "sms_to_staff": len(sent_to)}
        store.conn.execute(
            "INSERT INTO daily_summaries(day, figures, sent_at) VALUES (?, ?, ?)",
            (day.isoformat(), json.dumps(figures, sort_keys=True), utc_timestamp(now)),
        )
        EventOutbox(store).append(EVENT_STREAM, figures)
    log.info("daily summary for %s sent to %d staff", day.isoformat(), len(sent_to))
    return figures


def sent_summaries(store: Store, limit: int = 30) -> list[dict[str, Any]]:
    import json

    rows = store.conn.execute(
        "SELECT day, figures, sent_at FROM daily_summaries ORDER BY day DESC LIMIT ?", (limit,)
    ).fetchall()
    return [{"day": d, "sent_at": s, "figures": json.loads(f)} for d, f, s in rows]
