"""Call records: the ``calls`` row of each call and its ``call`` uplink event.

A call gets its row when it starts (:func:`open_call`: ``calls list`` shows it
as current, ``ended_at`` NULL) and is finished by :func:`record_call`, which
writes the final fields and the ``call`` event (INTERFACES §2/§3) in one
transaction. A call that was never opened is recorded in one step by
:func:`record_call` without a ``call_id``.

Keys: the modem (``<DLE>`` events) and the project's DSP may both hear one key
press; :class:`KeyLog` keeps each press once (see its docstring).

All functions here run on the store thread (``await store.run(fn, ...)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.store.db import utcnow
from appliance.store.outbox import EventOutbox

if TYPE_CHECKING:
    from appliance.store.db import Store

CALL_STREAM = "call"
OUTCOMES = ("answered", "missed", "menu", "voicemail", "survey", "transferred", "busy", "no_answer", "failed")
DIRECTIONS = ("in", "out")
DTMF_KEYS = frozenset("0123456789*#ABCD")
# One press heard by the modem (<DLE> code at the tone's start) and by our DSP (at its end, and a
# half-duplex modem hands over the audio received while it played only afterwards): measured up to
# ~0.4 s apart on the V.253 simulator. Pairing is by order, so "11" typed fast stays two keys.
KEY_DEDUPE_WINDOW_S = 1.5
MAX_KEYS = 512  # a caller holding the keypad cannot grow a record without bound

CALL_FIELDS = (
    "id", "direction", "number", "number_absent_reason", "caller_name", "contact_id", "started_at",
    "answered_at", "ended_at", "outcome", "notification_id", "recording", "keys", "language", "detail",
)


class KeyLog:
    """The keys of one call, in order, each press once.

    A press is reported by one or more sources (``dsp``, ``device``). A report is
    the same press as an earlier one when the digit is equal, the time is within
    ``KEY_DEDUPE_WINDOW_S`` and that press has not yet been reported by this
    source; otherwise it is a new press (so "11" typed quickly stays two keys).
    """

    def __init__(self, window: float = KEY_DEDUPE_WINDOW_S, bound: int = MAX_KEYS) -> None:
        self.window = window
        self.bound = bound
        self._presses: list[tuple[str, float, set[str]]] = []
        self.dropped = 0

    def add(self, digit: str, at: float, source: str) -> bool:
        """Record a report; True when it is a new press (act on it), False for a duplicate."""
        if digit not in DTMF_KEYS:
            return False
        for d, t, sources in self._presses[-8:]:  # the earliest press this source has not reported yet
            if d == digit and abs(at - t) <= self.window and source not in sources:
                sources.add(source)
                return False
        if len(self._presses) >= self.bound:
            self.dropped += 1
            return True  # still acted on; only the record is bounded
        self._presses.append((digit, at, {source}))
        return True

    @property
    def keys(self) -> str:
        return "".join(d for d, _, _ in self._presses)


@dataclass
class CallRecord:
    """What the call flow knows of a call when it ends."""

    direction: str
    started_at: str
    outcome: str
    number: str | None = None
    number_absent_reason: str | None = None
    caller_name: str | None = None
    contact_id: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    keys: str = ""
    recording: str | None = None
    notification_id: str | None = None
    language: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def open_call(
    store: Store,
    direction: str,
    *,
    number: str | None = None,
    number_absent_reason: str | None = None,
    caller_name: str | None = None,
    contact_id: str | None = None,
    notification_id: str | None = None,
    started_at: str | None = None,
) -> int:
    """Insert the row of a call that has begun (``ended_at`` NULL); returns its id."""
    if direction not in DIRECTIONS:
        raise ValueError(f"call direction must be in or out, not {direction!r}")
    with store.transaction():
        cur = store.conn.execute(
            "INSERT INTO calls(direction, number, number_absent_reason, caller_name, contact_id, started_at, "
            "notification_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (direction, number, number_absent_reason, caller_name, contact_id, started_at or utcnow(),
             notification_id),
        )
    return int(cur.lastrowid or 0)


def update_call(store: Store, call_id: int, **values: Any) -> None:
    """Set fields of a current call (caller ID arriving after the first ring, the contact)."""
    allowed = {"number", "number_absent_reason", "caller_name", "contact_id", "answered_at", "language"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"update_call cannot set {sorted(unknown)}")
    if not values:
        return
    sets = ", ".join(f"{k} = ?" for k in values)
    with store.transaction():
        store.conn.execute(f"UPDATE calls SET {sets} WHERE id = ?", (*values.values(), call_id))


def record_call(store: Store, record: CallRecord, call_id: int | None = None) -> int:
    """Finish (or insert) the call's row and append its ``call`` event, in one transaction."""
    if record.outcome not in OUTCOMES:
        raise ValueError(f"call outcome must be one of {', '.join(OUTCOMES)}, not {record.outcome!r}")
    if record.direction not in DIRECTIONS:
        raise ValueError(f"call direction must be in or out, not {record.direction!r}")
    ended_at = record.ended_at or utcnow()
    detail = json.dumps(record.detail, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    row = (
        record.direction, record.number, record.number_absent_reason, record.caller_name, record.contact_id,
        record.started_at, record.answered_at, ended_at, record.outcome, record.notification_id,
        record.recording, record.keys, record.language, detail,
    )
    with store.transaction():
        conn = store.conn
        if call_id is None:
            cur = conn.execute(
                "INSERT INTO calls(direction, number, number_absent_reason, caller_name, contact_id, started_at, "
                "answered_at, ended_at, outcome, notification_id, recording, keys, language, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            call_id = int(cur.lastrowid or 0)
        else:
            updated = conn.execute(
                "UPDATE calls SET direction = ?, number = ?, number_absent_reason = ?, caller_name = ?, "
                "contact_id = ?, started_at = ?, answered_at = ?, ended_at = ?, outcome = ?, notification_id = ?, "
                "recording = ?, keys = ?, language = ?, detail = ? WHERE id = ?",
                (*row, call_id),
            ).rowcount
            if not updated:
                raise ValueError(f"no call {call_id} to record")
        EventOutbox(store).append(CALL_STREAM, call_event(call_id, record, ended_at))
    return call_id


def call_event(call_id: int, record: CallRecord, ended_at: str) -> dict[str, Any]:
    """The ``call`` event's data (INTERFACES §3)."""
    data: dict[str, Any] = {
        "call_id": call_id,
        "direction": record.direction,
        "number": record.number,
        "contact_id": record.contact_id,
        "started_at": record.started_at,
        "ended_at": ended_at,
        "outcome": record.outcome,
        "keys": record.keys,
    }
    if record.answered_at:
        data["answered_at"] = record.answered_at
    if record.number_absent_reason:
        data["number_absent_reason"] = record.number_absent_reason
    if record.notification_id:
        data["notification_id"] = record.notification_id
    if record.recording:
        data["recording"] = record.recording
    return data


def list_calls(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Finished and current calls, newest first (INTERFACES §2 ``calls list``)."""
    rows = store.conn.execute(
        f"SELECT {', '.join(CALL_FIELDS)} FROM calls ORDER BY started_at DESC, id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    calls = []
    for row in rows:
        call = dict(zip(CALL_FIELDS, row, strict=True))
        call["detail"] = json.loads(call["detail"] or "{}")
        calls.append(call)
    return calls


def get_call(store: Store, call_id: int) -> dict[str, Any] | None:
    row = store.conn.execute(
        f"SELECT {', '.join(CALL_FIELDS)} FROM calls WHERE id = ?", (call_id,)
    ).fetchone()
    if row is None:
        return None
    call = dict(zip(CALL_FIELDS, row, strict=True))
    call["detail"] = json.loads(call["detail"] or "{}")
    return call


def close_dangling(store: Store) -> int:
    """Calls left current by a crash or power cut: end them as ``failed`` (at start-up)."""
    rows = store.conn.execute(
        "SELECT id, direction, started_at, number, number_absent_reason, caller_name, contact_id, answered_at, "
        "keys, language, notification_id FROM calls WHERE ended_at IS NULL"
    ).fetchall()
    for cid, direction, started_at, number, reason, name, contact_id, answered_at, keys, lang, nid in rows:
        rec = CallRecord(direction=direction, started_at=started_at, outcome="failed", number=number,
                         number_absent_reason=reason, caller_name=name, contact_id=contact_id,
                         answered_at=answered_at, keys=keys, language=lang, notification_id=nid,
                         detail={"ended_by": "restart"})
        record_call(store, rec, cid)
    return len(rows)
