"""Alerts: conditions that need a human, which open and close themselves and can be acknowledged.

``evaluate(facts)`` (pure) says which conditions hold now; ``reconcile(store,
conditions)`` (store thread) opens an alert for each new condition, updates the
detail of those still open and closes those whose condition ended. A person
acknowledges an open alert (it stays until its condition ends, but stops
blinking the lights). The caller publishes each change on the bus (``alert``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

KINDS = (
    "message_in_doubt", "sim_full", "modem_hung", "low_signal", "disk_low", "complaint_waiting", "clock_wrong",
)
LOW_SIGNAL_CSQ = 8  # +CSQ below this (about -97 dBm) loses messages
DISK_LOW_BYTES = 256 * 1024 * 1024
COMPLAINT_WAITING_S = 4 * 3600  # a complaint nobody has taken up for this long
CLOCK_EARLIEST = 1_767_225_600  # 2026-01-01: a clock before this has not been set
MAX_LISTED = 200

Conditions = dict[tuple[str, str], str]  # (kind, subject) -> detail


@dataclass(frozen=True)
class Alert:
    alert_id: int
    kind: str
    subject: str
    state: str  # open, acknowledged, closed
    detail: str
    opened_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    closed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_COLUMNS = "id, kind, subject, state, detail, opened_at, acknowledged_at, acknowledged_by, closed_at"


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(*row)


def evaluate(facts: dict[str, Any]) -> Conditions:
    """The conditions that hold, from the daemon's facts (see the keys read below)."""
    out: Conditions = {}
    modem = facts.get("modem") or {}
    info = modem.get("info") or {}
    in_doubt = int(facts.get("in_doubt") or info.get("in_doubt") or 0)
    if in_doubt:
        out[("message_in_doubt", "")] = f"{in_doubt} message(s) may or may not have been sent: check and resend"
    storage = str(info.get("storage") or "")
    used_total = storage.rsplit(" ", 1)[-1]
    if "/" in used_total:
        used, _, total = used_total.partition("/")
        if used.isdigit() and total.isdigit() and int(total) and int(used) >= int(total):
            out[("sim_full", "")] = f"the SIM message store is full ({used}/{total}): new messages wait on the network"
    state, detail = modem.get("state"), str(modem.get("detail") or "")
    if state == "failed" or (state == "degraded" and "not answering" in detail):
        out[("modem_hung", "")] = detail or "the modem does not answer"
    signal = info.get("signal")
    if isinstance(signal, int) and (signal < LOW_SIGNAL_CSQ or signal == 99) and state in ("ok", "degraded"):
        out[("low_signal", "")] = f"signal {signal}/31" if signal != 99 else "no signal"
    free = facts.get("free_bytes")
    if isinstance(free, int) and free < DISK_LOW_BYTES:
        out[("disk_low", "")] = f"{free // (1024 * 1024)} MiB free on the store's disk"
    waiting = int(facts.get("complaints_waiting") or 0)
    if waiting:
        out[("complaint_waiting", "")] = f"{waiting} complaint(s) waiting for the desk"
    now = facts.get("now", time.time())
    if now < CLOCK_EARLIEST or (facts.get("clock_skew_s") and abs(float(facts["clock_skew_s"])) > 300):
        out[("clock_wrong", "")] = "the clock is wrong: times on messages and calls are not to be trusted"
    return out


def reconcile(store: Store, conditions: Conditions, kinds: tuple[str, ...] = KINDS) -> list[Alert]:
    """Open, update and close alerts of ``kinds`` to match ``conditions``; the alerts that changed."""
    conn = store.conn
    changed: list[int] = []
    now = utcnow()
    with store.transaction():
        current = {
            (r[1], r[2]): (r[0], r[4])
            for r in conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE state != 'closed'").fetchall()
        }
        for key, detail in conditions.items():
            if key in current:
                alert_id, old_detail = current[key]
                if detail != old_detail:
                    conn.execute("UPDATE alerts SET detail = ? WHERE id = ?", (detail, alert_id))
                continue
            cur = conn.execute(
                "INSERT INTO alerts(kind, subject, state, detail, opened_at) VALUES (?, ?, 'open', ?, ?)",
                (key[0], key[1], detail, now),
            )
            changed.append(int(cur.lastrowid or 0))
        for key, (alert_id, _) in current.items():
            if key[0] in kinds and key not in conditions:
                conn.execute("UPDATE alerts SET state = 'closed', closed_at = ? WHERE id = ?", (now, alert_id))
                changed.append(alert_id)
    return [a for a in (get_alert(store, i) for i in changed) if a is not None]


def get_alert(store: Store, alert_id: int) -> Alert | None:
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return None if row is None else _alert(row)


def acknowledge(store: Store, alert_id: int, username: str) -> Alert | None:
    """Acknowledge an open alert; None when there is no such open alert."""
    with store.transaction():
        cur = store.conn.execute(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? "
            "WHERE id = ? AND state = 'open'",
            (utcnow(), username, alert_id),
        )
    return get_alert(store, alert_id) if cur.rowcount else None


def acknowledge_all(store: Store, username: str) -> list[int]:
    """Acknowledge every open alert (the box's button); their ids."""
    with store.transaction():
        ids = [r[0] for r in store.conn.execute("SELECT id FROM alerts WHERE state = 'open'").fetchall()]
        store.conn.executemany(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
            [(utcnow(), username, i) for i in ids],
        )
    return ids


def list_alerts(store: Store, *, include_closed: bool = False, limit: int = MAX_LISTED) -> list[Alert]:
    where = "" if include_closed else "WHERE state != 'closed'"
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY id DESC LIMIT ?", (min(limit, MAX_LISTED),)
    ).fetchall()
    return [_alert(r) for r in rows]
