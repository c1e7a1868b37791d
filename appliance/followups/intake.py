"""Schedules from outside: a ``notifications`` message carrying ``schedule``, or a configured template.

``accept_scheduled_notification`` is what the downlink calls for a notification
with a ``schedule`` object: the recipient, consent and text rules are those of
every notification (``appliance.notifications.requests``); instead of one SMS
now, a follow-up schedule is stored and each reminder is sent when due. The
central's ``notification_id`` becomes the ``followup_id``; reminder *n* is the
SMS whose ``notification_id`` is ``<followup_id>#<n>`` on ``sms_status``.

``after_notification`` starts the configured schedule (``[followups.templates.<t>]``)
of a notification that was queued with template ``t``; its id is ``tmpl:<notification_id>``.

Follow-up calls: ``channel: "call"`` with a ``schedule`` and a ``survey_id`` naming a
survey for the desk makes a schedule of calls instead of SMS (the recipient needs
``consents.call``); each due attempt waits in the desk's call-back list. A configured
template with ``channel = "call"`` does the same after its SMS notification went out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.followups.followups import FollowupSettings, create_followup, desk_survey_problem, stop_followups
from appliance.followups.schedule import Schedule
from appliance.notifications.requests import (
    CALL_STATUS_STREAM,
    SMS_STATUS_STREAM,
    NotificationSettings,
    Refused,
    _recipient,
    _record,
    _text,
)
from appliance.notifications.templates import language_of, render
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc, parse_time

if TYPE_CHECKING:
    from appliance.store.db import Store

TEMPLATE_PREFIX = "tmpl:"
log = logging.getLogger(__name__)


def accept_scheduled_notification(
    store: Store,
    settings: NotificationSettings,
    fsettings: FollowupSettings,
    data: dict[str, Any],
    envelope_id: str,
    now: datetime | None = None,
) -> str:
    """Store the schedule a ``notifications`` message carries (store thread; in the downlink's transaction)."""
    now = now or datetime.now(UTC)
    notification_id = data["notification_id"]
    channel = data.get("channel", "sms")
    if channel not in ("sms", "call"):
        raise ValidationError(f"channel: a schedule is for SMS reminders or follow-up calls (sms, call), "
                              f"got {channel!r}")
    schedule = Schedule.from_data(data["schedule"])  # ValidationError: the downlink is refused
    if channel == "call":
        problem = desk_survey_problem(store, data.get("survey_id"))
        if problem is not None:
            raise ValidationError(problem)
    if store.conn.execute(
        "SELECT 1 FROM notification_requests WHERE notification_id = ?", (notification_id,)
    ).fetchone():
        return "duplicate"
    try:
        number, language, _reached = _recipient(store, settings, data, now)
        if data.get("expires_at") and parse_time(data["expires_at"]) <= now:
            raise Refused("expired", data.get("contact_id"))
    except Refused as refusal:
        report: dict[str, Any] = {"notification_id": notification_id, "status": "failed", "reason": refusal.reason}
        if refusal.contact_id:
            report["contact_id"] = refusal.contact_id
        EventOutbox(store).append(CALL_STATUS_STREAM if channel == "call" else SMS_STATUS_STREAM, report)
        _record(store, data, envelope_id, None, "refused", refusal.reason, None)
        return "refused"
    has_text = "text" in data or "template" in data  # a call schedule may come with no note for the desk
    text = _text(settings, data, language) if has_text else ""
    language = language_of(language) if "template" in data or channel == "call" else (language or "und")
    start = parse_time(data["not_before"]) if data.get("not_before") else None
    expires = data.get("expires_at")
    create_followup(
        store, fsettings, followup_id=notification_id, number=number, language=language, text=text,
        schedule=schedule, contact_id=data.get("contact_id"), survey_id=data.get("survey_id"), start=start,
        expires_at=format_utc(parse_time(expires)) if expires else None, now=now, channel=channel,
    )
    _record(store, data, envelope_id, number, "scheduled", None, None)
    return "scheduled"


def after_notification(
    store: Store,
    settings: NotificationSettings,
    fsettings: FollowupSettings,
    data: dict[str, Any],
    outcome_status: str,
    now: datetime | None = None,
) -> bool:
    """Start the configured follow-up of a queued templated notification; True when one was made."""
    template = data.get("template")
    if outcome_status != "queued" or data.get("channel") != "sms" or template not in fsettings.templates:
        return False
    schedule, reminder = fsettings.templates[template]
    survey_id = fsettings.template_calls.get(template)
    channel = "call" if survey_id else "sms"
    now = now or datetime.now(UTC)
    try:
        number, language, _reached = _recipient(store, settings, {**data, "channel": channel}, now)
    except Refused as refusal:
        if channel == "call":
            log.info("no follow-up call after %s: %s", data["notification_id"], refusal.reason)
        return False
    if survey_id and (problem := desk_survey_problem(store, survey_id)):
        # the definition may still be on its way from the central: the calls are made anyway,
        # and the page says what is missing when the desk opens the survey
        log.warning("follow-up call template %s: %s", template, problem)
    text = render(reminder, language, dict(data.get("params") or {}), lab=settings.lab_name)
    language = language_of(language)
    made = create_followup(
        store, fsettings, followup_id=TEMPLATE_PREFIX + data["notification_id"], number=number,
        language=language, text=text, schedule=schedule, contact_id=data.get("contact_id"), source="template",
        now=now, channel=channel, survey_id=survey_id,
    )
    return made is not None


def apply_followup_update(store: Store, data: dict[str, Any]) -> str:
    """A ``followup_updates`` downlink: ``action: "stop"`` by ``followup_id`` and/or ``contact_id``."""
    if data.get("action", "stop") != "stop":
        return "ignored"
    fid = data.get("followup_id")
    stopped = stop_followups(store, "central", followup_id=fid, contact_id=data.get("contact_id"))
    if fid and not fid.startswith(TEMPLATE_PREFIX):  # the configured schedule that came with it too
        stopped += stop_followups(store, "central", followup_id=TEMPLATE_PREFIX + fid)
    return "applied" if stopped else "ignored"
