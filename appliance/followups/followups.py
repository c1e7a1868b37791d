"""Follow-up schedules in the store: made, evaluated, stopped, listed.

A schedule comes from the central (a ``notifications`` message carrying
``schedule``, see sync/PROTOCOL.md) or from the configuration
(``[followups.templates.<template>]``: every notification with that template
also starts a schedule of reminders). Each reminder is one SMS, queued only if
``send_block_reason(number, "followup")`` allows it and never in quiet hours.

A schedule stops when the contact replies (any inbound SMS from its number
after the schedule was made), when the central says so (``followup_updates``),
when the contact completes the survey it names (``survey_id``), when the number
opts out, or when it expires; it finishes after ``max_times`` reminders.

Every function here runs on the store thread (``await store.run(fn, ...)``)
and writes its rows and its ``followup`` uplink event in one transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.consent import send_block_reason
from appliance.errors import ValidationError
from appliance.followups.schedule import CHANNELS, DAY_S, Schedule, next_due, template_channel, template_schedule
from appliance.notifications.quiet_hours import release_time
from appliance.phone import mask
from appliance.sms.outbox import SmsOutbox
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc, parse_time, utcnow

if TYPE_CHECKING:
    from appliance.config import Config
    from appliance.store.db import Store

log = logging.getLogger(__name__)

EVENT_STREAM = "followup"
PURPOSE = "followup"
DUE_BATCH = 200  # reminders handled per evaluation; the rest wait for the next one (seconds later)
SCAN_BATCH = 1000  # inbound messages / survey replies looked at per scan
INBOX_CURSOR_KEY = "followups.inbox_cursor"
SURVEY_CURSOR_KEY = "followups.survey_reply_cursor"
WAKEUP = "followups"
CALL_OUTCOMES = ("answered", "no_answer", "busy", "declined")


@dataclass(frozen=True)
class FollowupSettings:
    """What the follow-up rules read from the configuration."""

    timezone: str = "UTC"
    quiet_hours: str = ""
    day_seconds: int = DAY_S
    lab_name: str = "Lab"
    templates: dict[str, tuple[Schedule, str]] = field(default_factory=dict)
    template_calls: dict[str, str] = field(default_factory=dict)  # template -> survey_id of a call schedule

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config: Config) -> FollowupSettings:
        return cls(
            timezone=config.site.timezone,
            quiet_hours=config.notifications.quiet_hours,
            day_seconds=config.followups.day_seconds,
            lab_name=config.site.name or config.site.id,
            templates={name: template_schedule(entry) for name, entry in config.followups.templates.items()},
            template_calls={
                name: str(entry["survey_id"]) for name, entry in config.followups.templates.items()
                if template_channel(entry) == "call"
            },
        )


@dataclass(frozen=True)
class Followup:
    """One schedule as the page and ``appliance followups list`` show it."""

    followup_id: str
    source: str
    contact_id: str | None
    number: str
    language: str
    text: str
    survey_id: str | None
    schedule: Schedule
    anchor_date: str
    status: str
    stop_reason: str | None
    sent_count: int
    last_sent_at: str | None
    next_due_at: str | None
    expires_at: str | None
    created_at: str
    reminders: list[dict[str, Any]] = field(default_factory=list)
    channel: str = "sms"  # sms: reminders sent; call: attempts made by the desk

    def as_dict(self) -> dict[str, Any]:
        return {
            "followup_id": self.followup_id,
            "source": self.source,
            "channel": self.channel,
            "contact_id": self.contact_id,
            "number": self.number,
            "language": self.language,
            "text": self.text,
            "survey_id": self.survey_id,
            "schedule": self.schedule.as_dict(),
            "anchor_date": self.anchor_date,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "sent": self.sent_count,
            "remaining": 0 if self.status != "active" else self.schedule.max_times - self.sent_count,
            "last_sent_at": self.last_sent_at,
            "next_due_at": self.next_due_at,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "reminders": self.reminders,
        }


_COLUMNS = (
    "followup_id, source, contact_id, number, language, text, survey_id, schedule, anchor_date, status, "
    "stop_reason, sent_count, last_sent_at, next_due_at, expires_at, created_at, channel"
)


def _from_row(row: tuple[Any, ...]) -> Followup:
    (fid, source, contact_id, number, language, text, survey_id, schedule, anchor, status, reason, sent,
     last_sent, next_due_at, expires_at, created_at, channel) = row
    return Followup(
        fid, source, contact_id, number, language, text, survey_id, Schedule(**json.loads(schedule)), anchor,
        status, reason, int(sent), last_sent, next_due_at, expires_at, created_at, channel=channel,
    )


def _due_time(settings: FollowupSettings, fu: Followup, index: int) -> datetime:
    """When reminder ``index`` (0-based) of ``fu`` may go, moved out of the quiet hours."""
    due = next_due(
        fu.schedule,
        date.fromisoformat(fu.anchor_date),
        index,
        settings.zone,
        sent_at=parse_time(fu.last_sent_at) if fu.last_sent_at else None,
        created=parse_time(fu.created_at),
        day_seconds=settings.day_seconds,
    )
    return release_time(due, settings.quiet_hours, settings.timezone)


def create_followup(
    store: Store,
    settings: FollowupSettings,
    *,
    followup_id: str,
    number: str,
    language: str,
    text: str,
    schedule: Schedule,
    contact_id: str | None = None,
    source: str = "central",
    survey_id: str | None = None,
    start: datetime | None = None,
    expires_at: str | None = None,
    now: datetime | None = None,
    channel: str = "sms",
) -> Followup | None:
    """Store a new schedule (None when ``followup_id`` exists already: idempotent).

    ``channel="call"``: nothing is sent; each due attempt waits for the desk (:func:`due_calls`,
    :func:`record_call_outcome`), with the same due-time rules as a reminder.
    """
    if channel not in CHANNELS:
        raise ValidationError(f"channel: expected one of {', '.join(CHANNELS)}, got {channel!r}")
    now = now or datetime.now(UTC)
    start = max(start or now, now)
    conn = store.conn
    with store.transaction():
        if conn.execute("SELECT 1 FROM followups WHERE followup_id = ?", (followup_id,)).fetchone():
            return None
        stamp = format_utc(now)
        anchor = start.astimezone(settings.zone).date().isoformat()
        draft = Followup(
            followup_id, source, contact_id, number, language, text, survey_id, schedule, anchor, "active",
            None, 0, None, None, expires_at, format_utc(start), channel=channel,
        )
        due = format_utc(max(_due_time(settings, draft, 0), now))
        conn.execute(
            f"INSERT INTO followups({_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, 0, "
            "NULL, ?, ?, ?, ?, ?)",
            (followup_id, source, contact_id, number, language, text, survey_id, json.dumps(schedule.as_dict()),
             anchor, due, expires_at, draft.created_at, channel, stamp),
        )
        _event(store, followup_id, contact_id, "scheduled", next_due_at=due, schedule=schedule.as_dict(),
               channel=channel, survey_id=survey_id)
        store.signal_after_commit(WAKEUP)
    log.info("follow-up %s (%s) scheduled for %s, first %s", followup_id, channel, mask(number), due)
    return get_followup(store, followup_id)


def _event(store: Store, followup_id: str, contact_id: str | None, status: str, **extra: Any) -> None:
    data: dict[str, Any] = {"followup_id": followup_id, "status": status}
    if contact_id:
        data["contact_id"] = contact_id
    data.update({k: v for k, v in extra.items() if v is not None})
    EventOutbox(store).append(EVENT_STREAM, data)


def get_followup(store: Store, followup_id: str) -> Followup | None:
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM followups WHERE followup_id = ?", (followup_id,)).fetchone()
    if row is None:
        return None
    fu = _from_row(row)
    fu.reminders.extend(_reminders(store, followup_id))
    return fu


def _reminders(store: Store, followup_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT n, due_at, done_at, outcome, reason, message_id, staff, session_id FROM followup_reminders "
        "WHERE followup_id = ? ORDER BY n",
        (followup_id,),
    ).fetchall()
    keys = ("n", "due_at", "done_at", "outcome", "reason", "message_id", "staff", "session_id")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def list_followups(
    store: Store, *, contact_id: str | None = None, number: str | None = None, status: str | None = None,
    limit: int = 1000,
) -> list[Followup]:
    """Schedules, newest first, with their reminders (for the page and ``appliance followups list``)."""
    where, args = [], []
    for column, value in (("contact_id", contact_id), ("number", number), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = f"SELECT {_COLUMNS} FROM followups"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, followup_id LIMIT ?"
    out = [_from_row(r) for r in store.conn.execute(sql, (*args, limit)).fetchall()]
    for fu in out:
        fu.reminders.extend(_reminders(store, fu.followup_id))
    return out


def stop_followups(
    store: Store,
    reason: str,
    *,
    followup_id: str | None = None,
    contact_id: str | None = None,
    number: str | None = None,
    survey_id: str | None = None,
    before: str | None = None,
) -> int:
    """Stop the active schedules matching every given key; ``before``: made before that time."""
    where, args = ["status = 'active'"], []
    for column, value in (("followup_id", followup_id), ("contact_id", contact_id), ("number", number),
                          ("survey_id", survey_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if before is not None:
        where.append("created_at < ?")
        args.append(before)
    if len(where) == 1:
        raise ValidationError("stopping follow-ups needs a followup_id, contact_id, number or survey_id")
    with store.transaction():
        rows = store.conn.execute(
            f"SELECT followup_id, contact_id, sent_count FROM followups WHERE {' AND '.join(where)}", args
        ).fetchall()
        stamp = utcnow()
        for fid, cid, sent in rows:
            store.conn.execute(
                "UPDATE followups SET status = 'stopped', stop_reason = ?, next_due_at = NULL, updated_at = ? "
                "WHERE followup_id = ?",
                (reason, stamp, fid),
            )
            _event(store, fid, cid, "stopped", reason=reason, sent=int(sent))
    for fid, _cid, _sent in rows:
        log.info("follow-up %s stopped: %s", fid, reason)
    return len(rows)


def on_reply(store: Store, number: str, received_at: str | None = None) -> int:
    """A message from ``number`` stops the schedules made for it before the message (the router's hook)."""
    return stop_followups(store, "replied", number=number, before=received_at or utcnow())


def reply_hook(store: Store, _settings: Any, msg: Any) -> None:
    """The inbound router's hook: a plain reply stops the sender's schedules at once (then routing goes on).

    Replies the router hands elsewhere first (an opt-out, a complaint, a survey answer)
    are found by :func:`scan_stops` a moment later.
    """
    on_reply(store, msg.number, msg.received_at)


def on_survey_completed(store: Store, contact_id: str, survey_id: str) -> int:
    """A completed survey stops the schedules that name it for that contact."""
    return stop_followups(store, "survey_completed", contact_id=contact_id, survey_id=survey_id)


def scan_stops(store: Store) -> int:
    """Apply replies and completed surveys that arrived since the last scan; return schedules stopped.

    Reads the inbox and the ``survey_reply`` events by cursor, so it works whoever
    received them (the daemon's modem part, another process) and after a restart.
    """
    conn = store.conn
    stopped = 0
    cursor = int(store.get_meta(INBOX_CURSOR_KEY, "0") or 0)
    rows = conn.execute(
        "SELECT id, number, created_at FROM sms_messages WHERE box = 'inbox' AND id > ? ORDER BY id LIMIT ?",
        (cursor, SCAN_BATCH),
    ).fetchall()
    if rows:
        with store.transaction():
            for _mid, number, created_at in rows:
                if conn.execute(
                    "SELECT 1 FROM followups WHERE status = 'active' AND number = ? LIMIT 1", (number,)
                ).fetchone():
                    stopped += on_reply(store, number, created_at)
            store.set_meta(INBOX_CURSOR_KEY, str(rows[-1][0]))
    cursor = int(store.get_meta(SURVEY_CURSOR_KEY, "0") or 0)
    rows = conn.execute(
        "SELECT n, data FROM events WHERE stream = 'survey_reply' AND n > ? ORDER BY n LIMIT ?",
        (cursor, SCAN_BATCH),
    ).fetchall()
    if rows:
        with store.transaction():
            for _n, payload in rows:
                data = json.loads(payload)
                if not data.get("complete") or not data.get("survey_id"):
                    continue
                if data.get("contact_id"):
                    stopped += on_survey_completed(store, str(data["contact_id"]), str(data["survey_id"]))
                if data.get("notification_id"):  # a desk survey taken for a follow-up call (number only too)
                    stopped += stop_followups(store, "survey_completed", followup_id=str(data["notification_id"]),
                                              survey_id=str(data["survey_id"]))
            store.set_meta(SURVEY_CURSOR_KEY, str(rows[-1][0]))
    return stopped + stop_withdrawn_calls(store)


def stop_withdrawn_calls(store: Store) -> int:
    """Call work for a contact who has since withdrawn call consent or was deleted: the call schedules
    stopped, the central's pending call requests failed (consent is checked when they arrive and again here)."""
    from appliance.calls import jobs

    rows = store.conn.execute(
        "SELECT f.followup_id, c.deleted FROM followups f JOIN contacts c ON c.contact_id = f.contact_id "
        "WHERE f.status = 'active' AND f.channel = 'call' AND (c.consent_call = 0 OR c.deleted = 1) LIMIT ?",
        (SCAN_BATCH,),
    ).fetchall()
    stopped = 0
    for followup_id, deleted in rows:
        stopped += stop_followups(store, "contact_deleted" if deleted else "no_consent", followup_id=followup_id)
    return stopped + jobs.fail_withdrawn_requests(store)


def _block_reason(store: Store, number: str) -> str | None:
    return send_block_reason(store, number, PURPOSE)


def run_due(store: Store, settings: FollowupSettings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Send (or block, or defer) every reminder due at ``now``; return what was done, one dict each."""
    now = now or datetime.now(UTC)
    stamp = format_utc(now)
    done = _expire_calls(store, stamp)
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM followups WHERE status = 'active' AND channel = 'sms' AND next_due_at <= ? "
        "ORDER BY next_due_at LIMIT ?",
        (stamp, DUE_BATCH),
    ).fetchall()
    for row in rows:
        fu = _from_row(row)
        try:
            with store.transaction():
                done.append(_one_due(store, settings, fu, now))
        except (ValueError, ValidationError) as err:
            # A reminder that cannot be sent (a text no SMS can carry) must not stop every other
            # schedule behind it, nor come back at every poll: that schedule ends, with the reason.
            log.error("follow-up %s cannot send its reminder, stopped: %s", fu.followup_id, err)
            stop_followups(store, f"failed: {str(err)[:120]}", followup_id=fu.followup_id)
            done.append({"followup_id": fu.followup_id, "action": "stopped", "reason": "failed"})
    return done


def _one_due(store: Store, settings: FollowupSettings, fu: Followup, now: datetime) -> dict[str, Any]:
    conn = store.conn
    stamp = format_utc(now)
    if fu.expires_at and parse_time(fu.expires_at) <= now:
        stop_followups(store, "expired", followup_id=fu.followup_id)
        return {"followup_id": fu.followup_id, "action": "stopped", "reason": "expired"}
    release = release_time(now, settings.quiet_hours, settings.timezone)
    if release > now:  # the clock moved into the quiet hours since the due time was computed
        conn.execute(
            "UPDATE followups SET next_due_at = ?, updated_at = ? WHERE followup_id = ?",
            (format_utc(release), stamp, fu.followup_id),
        )
        return {"followup_id": fu.followup_id, "action": "deferred", "until": format_utc(release)}
    reason = _block_reason(store, fu.number)
    if reason == "opted_out":  # the contact said STOP: the whole schedule ends, not just this reminder
        stop_followups(store, "opted_out", followup_id=fu.followup_id)
        return {"followup_id": fu.followup_id, "action": "stopped", "reason": reason}
    n = fu.sent_count + 1
    message_id = None
    if reason is None:
        queued = SmsOutbox(store).enqueue(
            fu.number, fu.text, notification_id=f"{fu.followup_id}#{n}", contact_id=fu.contact_id,
            durable=False, language=fu.language, purpose=PURPOSE,
        )
        message_id = queued.message_id
    conn.execute(
        "INSERT INTO followup_reminders(followup_id, n, due_at, done_at, outcome, reason, message_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (fu.followup_id, n, fu.next_due_at, stamp, "queued" if reason is None else "blocked", reason, message_id),
    )
    after = Followup(**{**fu.__dict__, "sent_count": n, "last_sent_at": stamp})
    if n >= fu.schedule.max_times:
        status, next_at = "finished", None
    else:
        status, next_at = "active", format_utc(_due_time(settings, after, n))
    conn.execute(
        "UPDATE followups SET sent_count = ?, last_sent_at = ?, next_due_at = ?, status = ?, updated_at = ? "
        "WHERE followup_id = ?",
        (n, stamp, next_at, status, stamp, fu.followup_id),
    )
    _event(store, fu.followup_id, fu.contact_id, "reminded" if reason is None else "blocked", n=n,
           message_id=message_id, reason=reason, next_due_at=next_at)
    if status == "finished":
        _event(store, fu.followup_id, fu.contact_id, "finished", sent=n)
    log.info("follow-up %s reminder %d/%d %s", fu.followup_id, n, fu.schedule.max_times,
             "queued" if reason is None else f"blocked ({reason})")
    return {"followup_id": fu.followup_id, "action": "queued" if reason is None else "blocked", "n": n,
            "reason": reason, "message_id": message_id, "next_due_at": next_at}


BASIS_KEY = "followups.due_basis"


def recompute_due(store: Store, settings: FollowupSettings, *, force: bool = False) -> int:
    """Recompute every active schedule's next due time from its anchor when what they were computed
    with (``site.timezone``, quiet hours, day length) changed since the last start, or ``force``.

    DST needs no recompute: each due time is computed from the local wall time when it is set.
    """
    basis = f"{settings.timezone}|{settings.quiet_hours}|{settings.day_seconds}"
    if not force and store.get_meta(BASIS_KEY) == basis:
        return 0
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM followups WHERE status = 'active'").fetchall()
    changed = 0
    with store.transaction():
        for row in rows:
            fu = _from_row(row)
            due = format_utc(_due_time(settings, fu, fu.sent_count))
            if due != fu.next_due_at:
                store.conn.execute(
                    "UPDATE followups SET next_due_at = ?, updated_at = ? WHERE followup_id = ?",
                    (due, utcnow(), fu.followup_id),
                )
                changed += 1
        store.set_meta(BASIS_KEY, basis)
    return changed


def next_due_time(store: Store) -> datetime | None:
    """The earliest work of the scheduler: an SMS reminder due, or a call schedule expiring.

    A call attempt falling due is not the scheduler's work (the desk makes it), so it does
    not wake the loop: an attempt left due for hours must not make the loop spin.
    """
    row = store.conn.execute(
        "SELECT MIN(t) FROM (SELECT MIN(next_due_at) AS t FROM followups WHERE status = 'active' AND channel = 'sms' "
        "UNION ALL SELECT MIN(expires_at) FROM followups WHERE status = 'active' AND channel = 'call')"
    ).fetchone()
    return parse_time(row[0]) if row and row[0] else None


# -- follow-up calls ------------------------------------------------------------------------------


def desk_survey_problem(store: Store, survey_id: Any) -> str | None:
    """Why ``survey_id`` cannot be the question template of a follow-up call (None: it can)."""
    from appliance.surveys.engine import get_survey

    if not isinstance(survey_id, str) or not survey_id:
        return "survey_id: a follow-up call needs survey_id, the survey (channel desk) the call asks"
    survey = get_survey(store, survey_id)
    if survey is None:
        return f"survey_id: unknown survey {survey_id!r} (send its definition on the surveys stream first)"
    if "desk" not in survey.channels:
        return (f"survey_id: survey {survey_id!r} is not for the desk (its channels are "
                f"{', '.join(survey.channels)}; a follow-up call needs desk)")
    return None


def _expire_calls(store: Store, stamp: str) -> list[dict[str, Any]]:
    """Stop the call schedules past ``expires_at`` (the desk's list hides them already)."""
    rows = store.conn.execute(
        "SELECT followup_id FROM followups WHERE status = 'active' AND channel = 'call' AND expires_at <= ? LIMIT ?",
        (stamp, DUE_BATCH),
    ).fetchall()
    for (fid,) in rows:
        stop_followups(store, "expired", followup_id=fid)
    return [{"followup_id": fid, "action": "stopped", "reason": "expired"} for (fid,) in rows]


def due_calls(store: Store, now: datetime | None = None, limit: int = DUE_BATCH) -> list[dict[str, Any]]:
    """Follow-up calls due now, oldest due first: who, which number, the survey, attempt n of K."""
    from appliance.surveys.engine import get_survey

    stamp = format_utc(now or datetime.now(UTC))
    rows = store.conn.execute(
        f"SELECT {', '.join('f.' + c.strip() for c in _COLUMNS.split(','))}, c.name FROM followups f "
        "LEFT JOIN contacts c ON c.contact_id = f.contact_id "
        "WHERE f.status = 'active' AND f.channel = 'call' AND f.next_due_at <= ? "
        "AND (f.expires_at IS NULL OR f.expires_at > ?) "
        "AND (c.contact_id IS NULL OR (c.consent_call = 1 AND c.deleted = 0)) "
        "ORDER BY f.next_due_at, f.followup_id LIMIT ?",
        (stamp, stamp, limit),
    ).fetchall()
    out = []
    titles: dict[str, str] = {}
    for row in rows:
        fu = _from_row(row[:-1])
        if fu.survey_id and fu.survey_id not in titles:
            survey = get_survey(store, fu.survey_id)
            titles[fu.survey_id] = survey.title if survey else fu.survey_id
        out.append({
            "followup_id": fu.followup_id, "contact_id": fu.contact_id, "name": row[-1], "number": fu.number,
            "language": fu.language, "text": fu.text, "survey_id": fu.survey_id,
            "survey_title": titles.get(fu.survey_id or "", ""), "due_at": fu.next_due_at,
            "attempt": fu.sent_count + 1, "max_times": fu.schedule.max_times,
        })
    return out


def record_call_outcome(
    store: Store,
    settings: FollowupSettings,
    followup_id: str,
    outcome: str,
    *,
    staff: str,
    session_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The desk's result of one attempt of a follow-up call; what became of the schedule.

    Every outcome counts the attempt (``sent_count``): ``answered`` and ``no_answer``/``busy``
    leave the next attempt to the schedule (``every_days`` later, the same due-time rules as
    an SMS reminder), ``declined`` stops the schedule, and so does a complete survey taken
    in the call (``session_id``). After ``max_times`` attempts the schedule is finished.
    """
    if outcome not in CALL_OUTCOMES:
        raise ValidationError(f"outcome: expected one of {', '.join(CALL_OUTCOMES)}, got {outcome!r}")
    now = now or datetime.now(UTC)
    stamp = format_utc(now)
    conn = store.conn
    with store.transaction():
        fu = get_followup(store, followup_id)
        if fu is None:
            raise ValidationError(f"no follow-up {followup_id!r}")
        if fu.channel != "call":
            raise ValidationError(f"follow-up {followup_id!r} is an SMS schedule, not a call")
        if fu.status != "active":
            why = fu.stop_reason or "every attempt made"
            raise ValidationError(f"follow-up {followup_id!r} is {fu.status} ({why})")
        completed = False
        if session_id is not None:
            row = conn.execute(
                "SELECT status, notification_id FROM survey_sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if row is None or row[1] != followup_id:
                raise ValidationError(f"survey session {session_id} was not taken for follow-up {followup_id!r}")
            completed = row[0] == "complete"
        n = fu.sent_count + 1
        conn.execute(
            "INSERT INTO followup_reminders(followup_id, n, due_at, done_at, outcome, staff, session_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (followup_id, n, fu.next_due_at or stamp, stamp, outcome, staff, session_id),
        )
        reason = "declined" if outcome == "declined" else "survey_completed" if completed else None
        next_at = None
        if reason is not None:
            status = "stopped"
        elif n >= fu.schedule.max_times:
            status = "finished"
        else:
            status = "active"
            next_at = format_utc(_due_time(settings, replace(fu, sent_count=n, last_sent_at=stamp), n))
        conn.execute(
            "UPDATE followups SET sent_count = ?, last_sent_at = ?, next_due_at = ?, status = ?, stop_reason = ?, "
            "updated_at = ? WHERE followup_id = ?",
            (n, stamp, next_at, status, reason, stamp, followup_id),
        )
        _event(store, followup_id, fu.contact_id, "called", n=n, outcome=outcome, session_id=session_id,
               next_due_at=next_at)
        if status == "stopped":
            _event(store, followup_id, fu.contact_id, "stopped", reason=reason, sent=n)
        elif status == "finished":
            _event(store, followup_id, fu.contact_id, "finished", sent=n)
    log.info("follow-up call %s attempt %d/%d: %s (by %s)%s", followup_id, n, fu.schedule.max_times, outcome, staff,
             f", schedule {status}" if status != "active" else "")
    return {"followup_id": followup_id, "n": n, "outcome": outcome, "status": status, "stop_reason": reason,
            "next_due_at": next_at}


def start_call_survey(store: Store, followup_id: str) -> int:
    """A desk survey session for a follow-up call (its survey, contact, number, language); its id.

    The session carries the follow-up's id as ``notification_id``, so its ``survey_reply``
    names it and a complete reply stops the schedule.
    """
    from appliance.surveys import engine

    fu = get_followup(store, followup_id)
    if fu is None or fu.channel != "call":
        raise ValidationError(f"no follow-up call {followup_id!r}")
    if fu.status != "active":
        raise ValidationError(f"follow-up {followup_id!r} is {fu.status}")
    problem = desk_survey_problem(store, fu.survey_id)
    if problem is not None:
        raise ValidationError(problem)
    assert fu.survey_id is not None
    session = engine.start_session(
        store, fu.survey_id, "desk", contact_id=fu.contact_id, number=fu.number, language=fu.language,
        notification_id=followup_id,
    )
    return session.session_id
