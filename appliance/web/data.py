"""What the status page reads from the store (store thread): dashboard facts, caller card, pages.

Every read here is an index walk bounded by a LIMIT or by today's rows, so the
page stays fast with a million messages (bench/bench_web.py measures it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance import alerts
from appliance.contacts.store import find_by_number, get_note
from appliance.sms.outbox import SENDING_PAUSED_META
from appliance.web.search import indexed_upto

if TYPE_CHECKING:
    from appliance.store.db import Store

PAGE_SIZE = 50
RECENT = 5
FAILED_STATUSES = ("failed", "unknown", "expired")
BOXES = {"inbox": ("inbox", None), "outbox": ("outbox", None), "failed": ("outbox", FAILED_STATUSES)}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_midnight_utc(tz: str, now: datetime | None = None) -> str:
    """Today's start in the site's zone, as the store's UTC text."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
    return _iso(local.replace(hour=0, minute=0, second=0, microsecond=0))


def _has_table(store: Store, name: str) -> bool:
    row = store.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None


def dashboard_facts(store: Store, tz: str) -> dict[str, Any]:
    """Figures for the dashboard: today's messages, recent calls, sync backlog, store size, alerts."""
    conn = store.conn
    since = local_midnight_utc(tz)
    today: dict[str, int] = {"sent": 0, "received": 0, "failed": 0, "queued": 0}
    for box, status, n in conn.execute(
        # INDEXED BY: without it SQLite walks (box, status) for the GROUP BY, a full scan of a big table
        "SELECT box, status, COUNT(*) FROM sms_messages INDEXED BY sms_created WHERE created_at >= ? "
        "GROUP BY box, status",
        (since,),
    ):
        if box == "inbox":
            today["received"] += n
        elif status in ("sent", "delivered"):
            today["sent"] += n
        elif status in FAILED_STATUSES:
            today["failed"] += n
        else:
            today["queued"] += n
    in_doubt = conn.execute(
        "SELECT COUNT(*) FROM sms_messages WHERE box = 'outbox' AND status = 'unknown'"
    ).fetchone()[0]
    calls = [
        dict(zip(("id", "direction", "number", "caller_name", "started_at", "outcome"), r, strict=True))
        for r in conn.execute(
            "SELECT id, direction, number, caller_name, started_at, outcome FROM calls ORDER BY id DESC LIMIT ?",
            (RECENT,),
        )
    ]
    backlog = [
        {"stream": s, "waiting": n, "oldest": oldest}
        for s, n, oldest in conn.execute(
            "SELECT stream, COUNT(*), MIN(ts) FROM events WHERE acked_at IS NULL GROUP BY stream ORDER BY stream"
        )
    ]
    last_ack = conn.execute(
        "SELECT acked_at FROM events WHERE acked_at IS NOT NULL ORDER BY n DESC LIMIT 1"
    ).fetchone()
    size = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            size += os.path.getsize(str(store.path) + suffix)
    complaints_waiting = 0
    if _has_table(store, "complaints"):
        cutoff = _iso(datetime.now(UTC) - timedelta(seconds=alerts.COMPLAINT_WAITING_S))
        with contextlib.suppress(sqlite3.Error):
            complaints_waiting = conn.execute(
                "SELECT COUNT(*) FROM complaints WHERE status IN ('open', 'new', 'received') AND created_at < ?",
                (cutoff,),
            ).fetchone()[0]
    return {
        "today": today,
        "in_doubt": in_doubt,
        "calls": calls,
        "backlog": backlog,
        "last_ack": last_ack[0] if last_ack else None,
        "store_bytes": size,
        "free_bytes": store.free_bytes(),
        "complaints_waiting": complaints_waiting,
        "paused": store.get_meta(SENDING_PAUSED_META) == "1",
        "alerts": [a.as_dict() for a in alerts.list_alerts(store)],
    }


def contact_by_number(store: Store, number: str) -> dict[str, Any] | None:
    """The contact with this phone (synced or local) as the caller card shows it, with the desk's note."""
    contact = find_by_number(store, number)
    if contact is None:
        return None
    note = get_note(store, contact.contact_id)
    return {
        "contact_id": contact.contact_id, "name": contact.name, "language": contact.language,
        "local": bool(contact.local), "note": note["note"] if note else "",
    }


def caller_card(store: Store, pop: dict[str, Any]) -> dict[str, Any]:
    """The caller pop's card: who, language, pending notifications, open complaints, recent calls and messages."""
    conn = store.conn
    number = pop.get("number")
    contact = pop.get("contact") if isinstance(pop.get("contact"), dict) else None
    if number and contact is None:
        contact = contact_by_number(store, number)
    card: dict[str, Any] = {
        "call_id": pop.get("call_id"),
        "number": number,
        "number_absent_reason": pop.get("number_absent_reason"),
        "name_on_line": pop.get("name_on_line"),
        "contact": contact,
        "calls": [],
        "messages": [],
        "pending": [],
        "complaints": [],
    }
    if not number:
        return card
    card["calls"] = [
        dict(zip(("started_at", "direction", "outcome"), r, strict=True))
        for r in conn.execute(
            "SELECT started_at, direction, outcome FROM calls WHERE number = ? ORDER BY id DESC LIMIT ?",
            (number, RECENT),
        )
    ]
    card["messages"] = [
        dict(zip(("created_at", "box", "status", "text"), r, strict=True))
        for r in conn.execute(
            "SELECT created_at, box, status, text FROM sms_messages WHERE number = ? AND box IN ('inbox', 'outbox') "
            "ORDER BY id DESC LIMIT ?",
            (number, RECENT),
        )
    ]
    card["pending"] = [
        {"kind": "sms", "status": r[0], "text": r[1]}
        for r in conn.execute(
            "SELECT status, text FROM sms_messages WHERE box = 'outbox' AND number = ? "
            "AND status IN ('queued', 'sending', 'unknown') ORDER BY id DESC LIMIT ?",
            (number, RECENT),
        )
    ] + [
        {"kind": "call", "status": r[0], "text": r[1]}
        for r in conn.execute(
            "SELECT status, text FROM call_requests WHERE number = ? AND status = 'pending' LIMIT ?", (number, RECENT)
        )
    ]
    if _has_table(store, "complaints") and contact is not None:
        with contextlib.suppress(sqlite3.Error):
            card["complaints"] = [
                {"reference": r[0], "status": r[1], "created_at": r[2]}
                for r in conn.execute(
                    "SELECT reference, status, created_at FROM complaints WHERE contact_id = ? "
                    "AND status NOT IN ('closed', 'resolved') ORDER BY created_at DESC LIMIT ?",
                    (contact["contact_id"], RECENT),
                )
            ]
    return card


TRIGRAM = 3  # the shortest text the trigram index can look up


def message_page(
    store: Store, box: str, *, status: str | None = None, number: str | None = None, text: str | None = None,
    before: int | None = None, limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of ``box`` (inbox, outbox, failed), newest first, and the id to continue before.

    A text of 3 characters or more is looked up in the trigram index ``sms_text`` (walked
    newest first, so a page costs about the same with 10 or 1,000,000 messages), after a LIKE
    over the few newest messages not indexed yet (:mod:`appliance.web.search`); a shorter
    text is a LIKE scan, stopped early by the LIMIT when it matches recent messages.
    """
    real_box, statuses = BOXES[box]
    where: list[str] = ["m.box = ?"]
    args: list[Any] = [real_box]
    if status:
        where.append("m.status = ?")
        args.append(status)
    elif statuses:
        where.append(f"m.status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    if number:
        where.append("m.number = ?")
        args.append(number)
    if before is not None:
        where.append("m.id < ?")
        args.append(before)
    columns = "m.id, m.box, m.number, m.text, m.status, m.parts, m.created_at, m.last_error, m.attempts"
    like = "m.text LIKE ? ESCAPE '\\'"
    pattern = "%" + (text or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    scan = f"SELECT {columns} FROM sms_messages m WHERE {{}} ORDER BY m.id DESC LIMIT ?"
    if not text:
        rows = store.conn.execute(scan.format(" AND ".join(where)), (*args, limit + 1)).fetchall()
    elif len(text) < TRIGRAM:
        rows = store.conn.execute(scan.format(" AND ".join([*where, like])), (*args, pattern, limit + 1)).fetchall()
    else:
        upto = indexed_upto(store)
        rows = store.conn.execute(
            scan.format(" AND ".join([*where, "m.id > ?", like])), (*args, upto, pattern, limit + 1)
        ).fetchall()
        if len(rows) <= limit:
            # CROSS JOIN keeps the index the outer loop: its rowids come newest first and the LIMIT stops it
            phrase = '"' + text.replace('"', '""') + '"'
            rows += store.conn.execute(
                f"SELECT {columns} FROM sms_text f CROSS JOIN sms_messages m ON m.id = f.rowid "
                f"WHERE f.sms_text MATCH ? AND f.rowid <= ? AND {' AND '.join(where)} ORDER BY f.rowid DESC LIMIT ?",
                (phrase, upto, *args, limit + 1 - len(rows)),
            ).fetchall()
    keys = ("id", "box", "number", "text", "status", "parts", "created_at", "last_error", "attempts")
    out = [dict(zip(keys, r, strict=True)) for r in rows[:limit]]
    return out, (out[-1]["id"] if len(rows) > limit else None)


def calls_page(
    store: Store, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int | None]:
    rows = store.conn.execute(
        "SELECT id, direction, number, number_absent_reason, caller_name, contact_id, started_at, ended_at, outcome "
        "FROM calls WHERE id < ? ORDER BY id DESC LIMIT ?",
        (before if before is not None else 2**62, limit + 1),
    ).fetchall()
    keys = ("id", "direction", "number", "absent", "caller_name", "contact_id", "started_at", "ended_at", "outcome")
    out = [dict(zip(keys, r, strict=True)) for r in rows[:limit]]
    return out, (out[-1]["id"] if len(rows) > limit else None)


def contacts_page(
    store: Store, after: str | None = None, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], str | None]:
    rows = store.conn.execute(
        "SELECT contact_id, name, language, consent_sms, consent_call, "
        "(SELECT group_concat(number, ' ') FROM contact_phones p WHERE p.contact_id = c.contact_id) "
        "FROM contacts c WHERE deleted = 0 AND contact_id > ? ORDER BY contact_id LIMIT ?",
        (after or "", limit + 1),
    ).fetchall()
    keys = ("contact_id", "name", "language", "consent_sms", "consent_call", "phones")
    out = [dict(zip(keys, r, strict=True)) for r in rows[:limit]]
    return out, (out[-1]["contact_id"] if len(rows) > limit else None)


def audit(store: Store, username: str, action: str, target: str = "", detail: str = "") -> None:
    """Record an action taken on the page, with who took it."""
    from appliance.store.db import utcnow

    with store.transaction():
        store.conn.execute(
            "INSERT INTO audit_log(at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (utcnow(), username, action, target[:500], detail[:500]),
        )


def audit_page(store: Store, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    keys = ("at", "username", "action", "target", "detail")
    return [
        dict(zip(keys, r, strict=True))
        for r in store.conn.execute(
            "SELECT at, username, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
    ]


def daily_counts(store: Store, tz: str, days: int = 14) -> list[dict[str, Any]]:
    """Messages in/out and calls per local day over the last ``days`` days (for the chart)."""
    zone = ZoneInfo(tz)
    start_local = datetime.now(UTC).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for i in range(days - 1, -1, -1):
        day = start_local - timedelta(days=i)
        lo, hi = _iso(day), _iso(day + timedelta(days=1))
        counts = dict(
            store.conn.execute(
                "SELECT box, COUNT(*) FROM sms_messages INDEXED BY sms_created "
                "WHERE created_at >= ? AND created_at < ? GROUP BY box",
                (lo, hi),
            ).fetchall()
        )
        calls = store.conn.execute(
            "SELECT COUNT(*) FROM calls WHERE started_at >= ? AND started_at < ?", (lo, hi)
        ).fetchone()[0]
        out.append({"day": day.strftime("%m-%d"), "in": counts.get("inbox", 0), "out": counts.get("outbox", 0),
                    "calls": calls})
    return out
