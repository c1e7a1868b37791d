"""Education campaigns in the store: dry-run, start, pace out, cancel, list.

``start_campaign`` fixes the recipients when the campaign starts (the segment
over the local contacts that day; a child below ``contacts.guardian_age`` is
reached through the guardian; one row per number). ``send_next`` then queues
one recipient's SMS at a time, and the same transaction marks the recipient
done, so after a crash or SIGKILL the campaign resumes at the next pending
recipient and nobody gets two. The pacing (how often ``send_next`` is called)
is the service's: see ``appliance/campaigns/pacing.py``.

Every send asks ``send_block_reason(number, "campaign")`` first; a blocked
recipient is recorded with the reason and not retried. All functions run on
the store thread.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.campaigns.segment import CampaignMessage, Segment, age_on, parse_definition
from appliance.errors import ValidationError
from appliance.notifications.templates import language_of
from appliance.sms.outbox import SmsOutbox
from appliance.sms.pdu import split_text
from appliance.store.outbox import EventOutbox
from sync.envelope import parse_time, utc_timestamp

if TYPE_CHECKING:
    from appliance.config import Config
    from appliance.store.db import Store

log = logging.getLogger(__name__)

EVENT_STREAM = "campaign"
PURPOSE = "campaign"
NOTIFICATION_PREFIX = "campaign:"
WAKEUP = "campaigns"
WINDOW_S = 60.0


@dataclass(frozen=True)
class CampaignSettings:
    """What the campaign rules read from the configuration."""

    timezone: str = "UTC"
    quiet_hours: str = ""
    rate_per_minute: int = 10
    price_per_part: float = 0.0
    guardian_age: int = 15
    lab_name: str = "Lab"

    @classmethod
    def from_config(cls, config: Config) -> CampaignSettings:
        return cls(
            timezone=config.site.timezone,
            quiet_hours=config.notifications.quiet_hours,
            rate_per_minute=config.campaigns.rate_per_minute,
            price_per_part=config.campaigns.price_per_part,
            guardian_age=config.contacts.guardian_age,
            lab_name=config.site.name or config.site.id,
        )


@dataclass(frozen=True)
class Recipient:
    number: str
    contact_id: str
    language: str


def _block_reason(store: Store, number: str) -> str | None:
    consent = importlib.import_module("appliance.consent")  # wf-core's part (docs/DOMAIN.md)
    reason: str | None = consent.send_block_reason(store, number, PURPOSE)
    return reason


def select_recipients(store: Store, settings: CampaignSettings, segment: Segment, day: date) -> list[Recipient]:
    """The segment's recipients on local date ``day``: one per number, in contact-id order."""
    rows = store.conn.execute(
        "SELECT c.contact_id, c.language, c.birth_date, c.sex, c.tags, c.guardian_contact_id, p.number "
        "FROM contacts c LEFT JOIN contact_phones p ON p.contact_id = c.contact_id AND p.position = 0 "
        "WHERE c.deleted = 0 ORDER BY c.contact_id"
    ).fetchall()
    guardians: dict[str, tuple[str | None, str | None]] = {}
    out: list[Recipient] = []
    seen: set[str] = set()
    for contact_id, own_language, birth_date, sex, tags, guardian_id, own_number in rows:
        language, number = own_language, own_number
        try:
            tag_list = [str(t) for t in json.loads(tags or "[]")]
        except ValueError:
            tag_list = []
        if not segment.matches(contact_id=contact_id, birth_date=birth_date, sex=sex, tags=tag_list,
                               language=language, day=day):
            continue
        age = age_on(birth_date, day)
        if age is not None and age < settings.guardian_age:  # a child is reached through the guardian
            if not guardian_id:
                continue
            if guardian_id not in guardians:
                g = store.conn.execute(
                    "SELECT c.language, p.number FROM contacts c LEFT JOIN contact_phones p "
                    "ON p.contact_id = c.contact_id AND p.position = 0 WHERE c.contact_id = ? AND c.deleted = 0",
                    (guardian_id,),
                ).fetchone()
                guardians[guardian_id] = (g[0], g[1]) if g else (None, None)
            language, number = guardians[guardian_id][0] or own_language, guardians[guardian_id][1]
        if not number or number in seen:
            continue
        seen.add(number)
        out.append(Recipient(number, contact_id, language_of(language)))
    return out


def _parts(text: str) -> int:
    return len(split_text(text)[1])


def dry_run(
    store: Store, settings: CampaignSettings, definition: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """What a campaign would do now: recipients, blocked by reason, SMS parts, cost, time it takes."""
    now = now or datetime.now(UTC)
    segment, message, title, rate = parse_definition(definition)
    day = now.astimezone(ZoneInfo(settings.timezone)).date()
    recipients = select_recipients(store, settings, segment, day)
    blocked: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    parts_by_language: dict[str, int] = {}
    parts = 0
    for r in recipients:
        reason = _block_reason(store, r.number)
        if reason is not None:
            blocked[reason] += 1
            continue
        languages[r.language] += 1
        if r.language not in parts_by_language:
            parts_by_language[r.language] = _parts(message.render(r.language, settings.lab_name))
        parts += parts_by_language[r.language]
    sendable = sum(languages.values())
    per_minute = min(rate or settings.rate_per_minute, settings.rate_per_minute)
    return {
        "title": title,
        "segment": segment.as_dict(),
        "matched": len(recipients),
        "recipients": sendable,
        "blocked": dict(blocked),
        "by_language": dict(languages),
        "parts_per_message": parts_by_language,
        "parts": parts,
        "price_per_part": settings.price_per_part,
        "cost": round(parts * settings.price_per_part, 4),
        "rate_per_minute": per_minute,
        "minutes": round(parts / per_minute, 1) if per_minute else None,
        "texts": {lang: message.render(lang, settings.lab_name) for lang in sorted(parts_by_language)},
    }


def start_campaign(
    store: Store,
    settings: CampaignSettings,
    campaign_id: str,
    definition: dict[str, Any],
    *,
    source: str,
    not_before: str | None = None,
    expires_at: str | None = None,
    envelope_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store the campaign and fix its recipients; idempotent by ``campaign_id`` (returns its summary)."""
    now = now or datetime.now(UTC)
    if not campaign_id or len(campaign_id) > 128:
        raise ValidationError("campaign_id must be 1-128 characters")
    segment, message, title, rate = parse_definition(definition)
    conn = store.conn
    with store.transaction(durable=True):
        if conn.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone():
            return campaign_summary(store, campaign_id)
        start = max(parse_time(not_before), now) if not_before else now
        day = start.astimezone(ZoneInfo(settings.timezone)).date()
        recipients = select_recipients(store, settings, segment, day)
        stamp = utc_timestamp(now)
        conn.execute(
            "INSERT INTO campaigns(campaign_id, source, title, segment, message, status, rate_per_minute, "
            "not_before, expires_at, recipients, envelope_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
            (campaign_id, source, title, json.dumps(segment.as_dict()), json.dumps(message.as_dict()), rate,
             utc_timestamp(start), utc_timestamp(parse_time(expires_at)) if expires_at else None,
             len(recipients), envelope_id, stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO campaign_recipients(campaign_id, number, contact_id, language, status) "
            "VALUES (?, ?, ?, ?, 'pending')",
            ((campaign_id, r.number, r.contact_id, r.language) for r in recipients),
        )
        EventOutbox(store).append(
            EVENT_STREAM, {"campaign_id": campaign_id, "status": "running", "recipients": len(recipients)}
        )
        store.signal_after_commit(WAKEUP)
    log.info("campaign %s started: %d recipients", campaign_id, len(recipients))
    return campaign_summary(store, campaign_id)


def cancel_campaign(store: Store, campaign_id: str) -> bool:
    """Stop a running campaign; what was queued stays queued. False when not running."""
    with store.transaction():
        cur = store.conn.execute(
            "UPDATE campaigns SET status = 'cancelled', finished_at = ?, updated_at = ? "
            "WHERE campaign_id = ? AND status = 'running'",
            (utc_timestamp(), utc_timestamp(), campaign_id),
        )
        if cur.rowcount:
            EventOutbox(store).append(EVENT_STREAM, {**_counts(store, campaign_id), "status": "cancelled"})
    return bool(cur.rowcount)


def _counts(store: Store, campaign_id: str) -> dict[str, Any]:
    rows = store.conn.execute(
        "SELECT status, COUNT(*), COALESCE(SUM(parts), 0) FROM campaign_recipients WHERE campaign_id = ? "
        "GROUP BY status",
        (campaign_id,),
    ).fetchall()
    counts = {s: int(n) for s, n, _p in rows}
    return {
        "campaign_id": campaign_id,
        "queued": counts.get("queued", 0),
        "blocked": counts.get("blocked", 0),
        "expired": counts.get("expired", 0),
        "pending": counts.get("pending", 0),
        "parts": sum(int(p) for _s, _n, p in rows),
    }


def campaign_summary(store: Store, campaign_id: str) -> dict[str, Any]:
    row = store.conn.execute(
        "SELECT campaign_id, source, title, status, recipients, rate_per_minute, not_before, expires_at, "
        "created_at, finished_at FROM campaigns WHERE campaign_id = ?",
        (campaign_id,),
    ).fetchone()
    if row is None:
        raise ValidationError(f"no campaign {campaign_id!r}")
    keys = ("campaign_id", "source", "title", "status", "recipients", "rate_per_minute", "not_before",
            "expires_at", "created_at", "finished_at")
    out = dict(zip(keys, row, strict=True))
    out.update(_counts(store, campaign_id))
    return out


def list_campaigns(store: Store) -> list[dict[str, Any]]:
    """Every campaign with its counts, newest first."""
    ids = [r[0] for r in store.conn.execute("SELECT campaign_id FROM campaigns ORDER BY created_at DESC")]
    return [campaign_summary(store, cid) for cid in ids]


def parts_in_window(store: Store, now: datetime, seconds: float = WINDOW_S) -> int:
    """SMS parts campaigns queued in the ``seconds`` before ``now`` (pacing across restarts)."""
    row = store.conn.execute(
        "SELECT COALESCE(SUM(parts), 0) FROM campaign_recipients WHERE status = 'queued' "
        "AND done_at > ? AND done_at <= ?",
        (utc_timestamp(now - timedelta(seconds=seconds)), utc_timestamp(now)),
    ).fetchone()
    return int(row[0])


def outstanding(store: Store) -> int:
    """Campaign SMS queued but not yet handed to the modem (so a slow modem slows the campaign)."""
    row = store.conn.execute(
        "SELECT COUNT(*) FROM sms_messages WHERE box = 'outbox' AND status IN ('queued', 'sending') "
        "AND notification_id LIKE ?",
        (NOTIFICATION_PREFIX + "%",),
    ).fetchone()
    return int(row[0])


def running_rate(store: Store, settings: CampaignSettings, now: datetime) -> int | None:
    """The pace (parts a minute) of the running campaigns, or None when none is due."""
    row = store.conn.execute(
        "SELECT COUNT(*), MIN(COALESCE(rate_per_minute, ?)) FROM campaigns WHERE status = 'running' "
        "AND (not_before IS NULL OR not_before <= ?)",
        (settings.rate_per_minute, utc_timestamp(now)),
    ).fetchone()
    if not row[0]:
        return None
    return min(int(row[1]), settings.rate_per_minute)


def send_next(store: Store, settings: CampaignSettings, now: datetime | None = None) -> dict[str, Any] | None:
    """Queue the next pending recipient of the oldest running campaign; None when nothing is due.

    Returns ``{"campaign_id", "number", "status", "parts"}``; a campaign with no
    pending recipient left is finished here (its ``campaign`` event says how many).
    """
    now = now or datetime.now(UTC)
    stamp = utc_timestamp(now)
    conn = store.conn
    with store.transaction():
        campaign = conn.execute(
            "SELECT campaign_id, message, expires_at FROM campaigns WHERE status = 'running' "
            "AND (not_before IS NULL OR not_before <= ?) ORDER BY created_at, campaign_id LIMIT 1",
            (stamp,),
        ).fetchone()
        if campaign is None:
            return None
        campaign_id, message_json, expires_at = campaign
        expired = expires_at is not None and expires_at <= stamp
        row = conn.execute(
            "SELECT number, contact_id, language FROM campaign_recipients "
            "WHERE campaign_id = ? AND status = 'pending' LIMIT 1",
            (campaign_id,),
        ).fetchone()
        if row is None or expired:
            if expired:
                conn.execute(
                    "UPDATE campaign_recipients SET status = 'expired', done_at = ? "
                    "WHERE campaign_id = ? AND status = 'pending'",
                    (stamp, campaign_id),
                )
            conn.execute(
                "UPDATE campaigns SET status = 'finished', finished_at = ?, updated_at = ? WHERE campaign_id = ?",
                (stamp, stamp, campaign_id),
            )
            EventOutbox(store).append(EVENT_STREAM, {**_counts(store, campaign_id), "status": "finished"})
            log.info("campaign %s finished", campaign_id)
            return {"campaign_id": campaign_id, "status": "finished", "parts": 0}
        number, contact_id, language = row
        reason = _block_reason(store, number)
        message_id, parts = None, 0
        if reason is None:
            text = CampaignMessage(**json.loads(message_json)).render(language, settings.lab_name)
            queued = SmsOutbox(store).enqueue(
                number, text, notification_id=f"{NOTIFICATION_PREFIX}{campaign_id}:{number}",
                contact_id=contact_id, expires_at=expires_at,
            )
            message_id, parts = queued.message_id, _parts(text)
        conn.execute(
            "UPDATE campaign_recipients SET status = ?, reason = ?, message_id = ?, parts = ?, done_at = ? "
            "WHERE campaign_id = ? AND number = ?",
            ("queued" if reason is None else "blocked", reason, message_id, parts or None, stamp, campaign_id,
             number),
        )
    return {"campaign_id": campaign_id, "number": number, "status": "queued" if reason is None else "blocked",
            "reason": reason, "parts": parts, "message_id": message_id}
