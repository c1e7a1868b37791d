"""Complaints, from opening to closure (QSE 2: received, documented, anonymous allowed,
corrective action, feedback to the complainant, tracked and analysed).

- ``open_complaint`` (channel ``sms``, ``voice`` or ``desk``) writes the complaint, its
  first history row, the ``complaint`` uplink event and the acknowledgement SMS naming
  the reference, in one transaction.
- **Anonymous** keeps no number and no contact anywhere: they are dropped before
  anything is written or logged, and no acknowledgement is sent (there is nobody to
  send it to). An SMS complaint is never anonymous (the number came with it and is in
  the inbox already); voice and desk complaints can be.
- ``apply_update`` (``complaint_updates`` downlink) moves the status along
  received -> under_investigation -> corrective_action -> closed, keeping every step
  in ``complaint_history``; closing with an ``outcome`` tells the complainant by SMS in
  the complaint's language unless ``notify_complainant`` is false. Statuses the
  central writes differently ("Under investigation", "corrective-action") are folded to
  these; an unknown status is kept as given.
- The reference is ``C-`` and five characters from an alphabet without look-alikes
  (no 0/O, 1/I/L): short to say on the phone, 33 million of them.

All functions run on the store thread.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from appliance.consent.core import queue_sms
from appliance.errors import ValidationError
from appliance.notifications.quiet_hours import release_time
from appliance.notifications.texts import language_of, say
from appliance.store.outbox import EventOutbox
from appliance.timefmt import format_utc, parse_time, utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

COMPLAINT_STREAM = "complaint"
CHANNELS = ("sms", "voice", "desk")
STATUSES = ("received", "under_investigation", "corrective_action", "closed")
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_TEXT = 2000


@dataclass(frozen=True)
class Complaint:
    complaint_id: str
    reference: str
    channel: str
    status: str
    anonymous: bool
    contact_id: str | None
    number: str | None
    language: str
    text: str | None
    recording: str | None
    staff: str | None
    outcome: str | None
    corrective_action: str | None
    created_at: str
    updated_at: str
    closed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def new_reference() -> str:
    return "C-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))


def fold_status(status: str) -> str:
    """``"Under investigation"`` -> ``under_investigation``; unknown statuses kept (lower case)."""
    return "_".join(status.strip().lower().replace("-", " ").split())


_COLUMNS = (
    "complaint_id, reference, channel, status, anonymous, contact_id, number, language, text, recording, "
    "staff, outcome, corrective_action, created_at, updated_at, closed_at"
)


def _complaint(row: tuple[Any, ...]) -> Complaint:
    values = list(row)
    values[4] = bool(values[4])
    return Complaint(*values)


def get_complaint(store: Store, complaint_id: str) -> Complaint | None:
    """By ``complaint_id`` or by ``reference``."""
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM complaints WHERE complaint_id = ? OR reference = ?",
        (complaint_id, complaint_id.upper()),
    ).fetchone()
    return None if row is None else _complaint(row)


def list_complaints(
    store: Store,
    *,
    status: str | None = None,
    channel: str | None = None,
    contact_id: str | None = None,
    number: str | None = None,
    open_only: bool = False,
    limit: int = 1000,
) -> list[Complaint]:
    """Newest first; ``contact_id``/``number`` (either matches) for the caller pop's open complaints."""
    where, params = ["1 = 1"], []
    if contact_id or number:
        where.append("(contact_id = ? OR number = ?)")
        params.extend([contact_id or "", number or ""])
    if open_only:
        where.append("status != 'closed'")
    if status:
        where.append("status = ?")
        params.append(status)
    if channel:
        where.append("channel = ?")
        params.append(channel)
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM complaints WHERE {' AND '.join(where)} ORDER BY created_at DESC, rowid DESC "
        f"LIMIT {int(limit)}",
        params,
    ).fetchall()
    return [_complaint(r) for r in rows]


def history(store: Store, complaint_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT status, outcome, note, source, at FROM complaint_history WHERE complaint_id = ? ORDER BY id",
        (complaint_id,),
    ).fetchall()
    return [dict(zip(("status", "outcome", "note", "source", "at"), r, strict=True)) for r in rows]


def _history(store: Store, complaint_id: str, status: str, *, outcome: str | None = None, note: str = "",
             source: str = "local", envelope_id: str | None = None) -> None:
    store.conn.execute(
        "INSERT INTO complaint_history(complaint_id, status, outcome, note, source, envelope_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (complaint_id, status, outcome, note, source, envelope_id, utcnow()),
    )


def open_complaint(
    store: Store,
    *,
    channel: str,
    text: str | None = None,
    recording: str | None = None,
    contact_id: str | None = None,
    number: str | None = None,
    anonymous: bool = False,
    language: str | None = None,
    staff: str | None = None,
    lab: str = "",
) -> Complaint:
    """Open a complaint (see the module rules); ValidationError for a bad channel or no content."""
    if channel not in CHANNELS:
        raise ValidationError(f"complaint channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    text = (text or "").strip()[:MAX_TEXT] or None
    if text is None and not recording:
        raise ValidationError("a complaint needs a text or a recording")
    if anonymous and channel == "sms":
        raise ValidationError("an SMS complaint cannot be anonymous: the sender's number came with it")
    if anonymous:
        number = contact_id = None  # dropped before anything is written or logged
    lang = language_of(language)
    with store.transaction():
        complaint_id = str(uuid.uuid4())
        now = utcnow()
        for _ in range(20):
            reference = new_reference()
            if store.conn.execute("SELECT 1 FROM complaints WHERE reference = ?", (reference,)).fetchone() is None:
                break
        else:  # pragma: no cover - 33 million references
            raise ValidationError("no free complaint reference")
        store.conn.execute(
            "INSERT INTO complaints(complaint_id, reference, channel, status, anonymous, contact_id, number, "
            "language, text, recording, staff, created_at, updated_at) "
            "VALUES (?, ?, ?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (complaint_id, reference, channel, int(anonymous), contact_id, number, lang, text, recording, staff,
             now, now),
        )
        _history(store, complaint_id, "received", note=f"opened by {channel}")
        data: dict[str, Any] = {
            "complaint_id": complaint_id,
            "reference": reference,
            "channel": channel,
            "anonymous": anonymous,
            "status": "received",
            "language": lang,
            "created_at": now,
        }
        if text is not None:
            data["text"] = text
        if recording:
            data["recording"] = recording
        if not anonymous:
            data["contact_id"] = contact_id
            data["number"] = number
        if staff:
            data["staff"] = staff
        EventOutbox(store).append(COMPLAINT_STREAM, data)
        ack = None
        if number:
            ack = queue_sms(
                store, number, say("complaint_ack", lang, lab=lab, reference=reference),
                purpose="complaint_ack", language=lang, contact_id=contact_id,
            )
            if ack.blocked:
                _history(store, complaint_id, "received", note=f"acknowledgement not sent: {ack.blocked}")
    log.info(
        "complaint %s opened (%s%s)%s", reference, channel, ", anonymous" if anonymous else "",
        ", acknowledgement queued" if ack and ack.message_id else "",
    )
    complaint = get_complaint(store, complaint_id)
    assert complaint is not None
    return complaint


def complete_text(store: Store, reference: str, text: str, *, why: str) -> bool:
    """Replace the text of an SMS complaint opened from a message that was incomplete when routed
    (its late parts came in): the complaint keeps its id and reference, the history notes it, and
    a ``complaint`` event with ``update: true`` and the whole ``text`` goes up. False: not found."""
    text = text.strip()[:MAX_TEXT]
    row = store.conn.execute(
        "SELECT complaint_id, status, anonymous, channel, text FROM complaints WHERE reference = ?", (reference,)
    ).fetchone()
    if row is None or not text:
        return False
    complaint_id, status, anonymous, channel, old = row
    if old == text:
        return True
    store.conn.execute("UPDATE complaints SET text = ?, updated_at = ? WHERE complaint_id = ?",
                       (text, utcnow(), complaint_id))
    _history(store, complaint_id, status, note=why)
    EventOutbox(store).append(
        COMPLAINT_STREAM,
        {"complaint_id": complaint_id, "reference": reference, "status": status, "update": True,
         "anonymous": bool(anonymous), "channel": channel, "text": text},
    )
    log.info("complaint %s: text completed (%s)", reference, why)
    return True


def apply_update(
    store: Store,
    data: dict[str, Any],
    envelope_id: str,
    *,
    lab: str = "",
    quiet_hours: str = "",
    timezone: str = "UTC",
    now: datetime | None = None,
) -> str:
    """Apply one ``complaint_updates`` downlink (see the module rules); "applied" or "unknown".

    The central's view is also kept in ``complaint_status`` (for complaints not opened on
    this box too). The outcome SMS waits for the end of the quiet hours.
    """
    status = fold_status(str(data["status"]))
    outcome = data.get("outcome")
    store.conn.execute(
        "INSERT INTO complaint_status(complaint_id, status, outcome, data, envelope_id, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(complaint_id) DO UPDATE SET status = excluded.status, "
        "outcome = COALESCE(excluded.outcome, complaint_status.outcome), data = excluded.data, "
        "envelope_id = excluded.envelope_id, updated_at = excluded.updated_at",
        (data["complaint_id"], status, outcome, _json(data), envelope_id, utcnow()),
    )
    complaint = get_complaint(store, data["complaint_id"])
    if complaint is None:
        return "unknown"
    stamp = utcnow()
    closing = status == "closed" and complaint.status != "closed"
    store.conn.execute(
        "UPDATE complaints SET status = ?, outcome = COALESCE(?, outcome), "
        "corrective_action = COALESCE(?, corrective_action), updated_at = ?, "
        "closed_at = CASE WHEN ? THEN ? ELSE closed_at END WHERE complaint_id = ?",
        (status, outcome, data.get("corrective_action"), stamp, int(closing), stamp, complaint.complaint_id),
    )
    note = str(data.get("corrective_action") or "")
    _history(store, complaint.complaint_id, status, outcome=outcome, note=note, source="central",
             envelope_id=envelope_id)
    if closing and outcome and data.get("notify_complainant", True) and complaint.number:
        moment = now or datetime.now(UTC)
        due = release_time(moment, quiet_hours, timezone)
        text = say("complaint_outcome", complaint.language, lab=lab, reference=complaint.reference,
                   outcome=str(outcome)[:600])
        sent = queue_sms(
            store, complaint.number, text, purpose="complaint_outcome", language=complaint.language,
            contact_id=complaint.contact_id, not_before=format_utc(due) if due > moment else None,
        )
        _history(store, complaint.complaint_id, status,
                 note="outcome SMS queued" if sent.message_id else f"outcome SMS not sent: {sent.blocked}")
    elif closing and outcome and not data.get("notify_complainant", True):
        _history(store, complaint.complaint_id, status, note="complainant not told (notify_complainant false)")
    EventOutbox(store).append(
        COMPLAINT_STREAM,
        {"complaint_id": complaint.complaint_id, "reference": complaint.reference, "status": status,
         "update": True, "anonymous": complaint.anonymous, "channel": complaint.channel},
    )
    log.info("complaint %s now %s", complaint.reference, status)
    return "applied"


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def complaint_figures(store: Store, *, since: str | None = None, until: str | None = None,
                      now: datetime | None = None) -> dict[str, Any]:
    """Counts by channel and status (all), open ones by age, and opened/closed in
    ``since..until`` (RFC 3339; the daily summary's day)."""
    conn = store.conn
    by_channel = dict(conn.execute("SELECT channel, COUNT(*) FROM complaints GROUP BY channel").fetchall())
    by_status = dict(conn.execute("SELECT status, COUNT(*) FROM complaints GROUP BY status").fetchall())
    moment = now or datetime.now(UTC)
    ages = {"under_1d": 0, "1_7d": 0, "7_30d": 0, "over_30d": 0}
    for (created,) in conn.execute("SELECT created_at FROM complaints WHERE status != 'closed'"):
        days = (moment - parse_time(created)).total_seconds() / 86400
        key = "under_1d" if days < 1 else "1_7d" if days < 7 else "7_30d" if days < 30 else "over_30d"
        ages[key] += 1
    lo, hi = since or "", until or "9999"
    opened = conn.execute("SELECT COUNT(*) FROM complaints WHERE created_at >= ? AND created_at < ?",
                          (lo, hi)).fetchone()[0]
    closed = conn.execute("SELECT COUNT(*) FROM complaints WHERE closed_at >= ? AND closed_at < ?",
                          (lo, hi)).fetchone()[0]
    return {
        "total": sum(by_channel.values()),
        "by_channel": {c: int(by_channel.get(c, 0)) for c in CHANNELS},
        "by_status": {**{s: 0 for s in STATUSES}, **{s: int(n) for s, n in by_status.items()}},
        "open_by_age": ages,
        "opened": int(opened),
        "closed": int(closed),
    }
