"""``appliance sms``: queue an SMS, list messages, retry one in doubt, drive the simulated modem.

``appliance sms send --to NUMBER --text TEXT`` writes the message to the outbox
with a durable commit and prints its id; the daemon (running now or later)
sends it. ``appliance sms list`` shows the outbox and inbox, newest first.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from appliance.cli.common import load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.consent import send_block_reason
from appliance.contacts.costs import message_cost
from appliance.daemon.wakesock import wake_daemon
from appliance.errors import ApplianceError, UsageError
from appliance.phone import mask, to_e164
from appliance.sms.outbox import Enqueued, SmsOutbox, status_event
from appliance.store.db import Store, utcnow
from appliance.store.outbox import EventOutbox

log = logging.getLogger(__name__)

DEFAULT_LIST_LIMIT = 1000
RETRYABLE = ("unknown", "failed", "expired")


def register(sub: argparse._SubParsersAction) -> None:
    sms = sub.add_parser("sms", help="send and list SMS messages")
    add_config_option(sms)
    cmds = sms.add_subparsers(dest="sms_command", metavar="COMMAND", parser_class=sub._parser_class)

    send = cmds.add_parser("send", help="queue one SMS (the daemon sends it)")
    add_config_option(send)
    send.add_argument("--to", required=True, metavar="NUMBER", help="recipient; national numbers read in site.country")
    send.add_argument("--text", required=True, help="message text (GSM-7 or any Unicode)")
    send.add_argument("--json", action="store_true", help="print one JSON object")
    send.add_argument(
        "--override-opt-out", action="store_true",
        help="send even though the number opted out (STOP); say why to the person first",
    )
    send.set_defaults(func=cmd_send)

    lst = cmds.add_parser("list", help="messages, newest first")
    add_config_option(lst)
    lst.add_argument("--box", choices=("outbox", "inbox"), help="only this box")
    lst.add_argument("--status", help="only this status (queued, sent, unknown, ...)")
    lst.add_argument(
        "--limit", type=int, default=DEFAULT_LIST_LIMIT, help=f"at most N (default {DEFAULT_LIST_LIMIT}; 0: all)"
    )
    lst.add_argument("--json", action="store_true", help="print a JSON list")
    lst.set_defaults(func=cmd_list)

    retry = cmds.add_parser("retry", help="queue again a message that is unknown, failed or expired")
    add_config_option(retry)
    retry.add_argument("id", type=int)
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(func=cmd_retry)

    sim = cmds.add_parser("sim", help="drive the simulated modem of a running daemon (modem.driver = sim)")
    add_config_option(sim)
    sim.add_argument(
        "action", choices=("inject", "ring", "state", "hang", "unplug", "replug", "fill", "random", "request")
    )
    sim.add_argument("--from", dest="sender", default="+358401234567", help="inject/ring: the sender's number")
    sim.add_argument("--text", default="", help="inject: message text")
    sim.add_argument("--ucs2", action="store_true", help="inject: force UCS-2")
    sim.add_argument("--seconds", type=float, default=10.0, help="hang: for how long")
    sim.add_argument("--per-hour", type=float, default=0.0, help="random: SMS an hour from patients (0 stops)")
    sim.add_argument("--request", default="", help="request: a raw JSON control request")
    sim.set_defaults(func=cmd_sim)


def cmd_send(args: argparse.Namespace) -> int:
    config = load(args)
    number = to_e164(args.to, config.site.country)  # ValidationError names the number: exit 2
    if not args.text:
        raise UsageError("sms send: --text is empty")
    store = open_store(config)
    try:
        try:
            queued = store.call(_send, store, number, args.text, args.override_opt_out)
        except ValueError as err:
            raise UsageError(f"sms send: {err}") from None
    finally:
        store.close()
    wake_daemon(config.data_dir, "sms_outbox")  # no 5 s wait for the daemon's poll
    if args.json:
        print_json({"id": queued.message_id, "status": "queued", "number": number, "created": queued.created})
    else:
        print(queued.message_id)
    return 0


def _send(store: Store, number: str, text: str, override: bool) -> Enqueued:
    """Check the opt-out and queue, in one durable transaction (store thread)."""
    with store.transaction(durable=True):
        reason = send_block_reason(store, number, "manual")
        if reason is not None and not override:
            raise UsageError(
                f"sms send: {mask(number)} refused SMS ({reason}); add --override-opt-out to send anyway"
            )
        if reason is not None:
            print(f"appliance: warning: {mask(number)} opted out; sending anyway (--override-opt-out)",
                  file=sys.stderr)
            log.warning("manual SMS to %s sent although %s (--override-opt-out)", mask(number), reason)
        return SmsOutbox(store).enqueue(
            number, text, durable=True, purpose="manual_override" if reason else "manual"
        )


def _row(d: dict[str, Any], price_per_part: float = 0.0) -> dict[str, Any]:
    return {
        "id": d["id"],
        "box": d["box"],
        "number": d["number"],
        "text": d["text"],
        "status": d["status"],
        "created_at": d["created_at"],
        "updated_at": d["updated_at"],
        "parts": d["parts"],
        "notification_id": d["notification_id"],
        "contact_id": d["contact_id"],
        "attempts": d["attempts"],
        "error": d["last_error"],
        "sent_at": d["sent_at"],
        "delivered_at": d["delivered_at"],
        "not_before": d["not_before"],
        "expires_at": d["expires_at"],
        "incomplete": bool(d["incomplete"]),
        "language": d.get("language"),
        "purpose": d.get("purpose"),
        "cost": message_cost(d["parts"], price_per_part) if d["box"] == "outbox" else 0.0,
    }


def cmd_list(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        where, params = [], []
        if args.box:
            where.append("box = ?")
            params.append(args.box)
        if args.status:
            where.append("status = ?")
            params.append(args.status)
        sql = "SELECT * FROM sms_messages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if args.limit > 0:
            sql += f" LIMIT {int(args.limit)}"
        cur = store.conn.execute(sql, params)
        names = [c[0] for c in cur.description]
        rows = [_row(dict(zip(names, r, strict=True)), config.sms.price_per_part) for r in cur]
    finally:
        store.close()
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        text = r["text"].replace("\n", " ")
        text = text if len(text) <= 50 else text[:49] + "…"
        print(f"{r['id']:>7} {r['box']:<6} {r['status']:<9} {r['created_at']} {r['number']:<16} {r['parts']}p {text}")
    if not rows:
        print("no messages", file=sys.stderr)
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        with store.transaction(durable=True):
            row = store.conn.execute(
                "SELECT status, notification_id, parts FROM sms_messages WHERE id = ? AND box = 'outbox'",
                (args.id,),
            ).fetchone()
            if row is None:
                raise UsageError(f"sms retry: no outbox message {args.id}")
            if row[0] not in RETRYABLE:
                raise UsageError(
                    f"sms retry: message {args.id} is {row[0]}; only {', '.join(RETRYABLE)} can be retried"
                )
            store.conn.execute(
                "UPDATE sms_messages SET status = 'queued', attempts = 0, next_attempt_at = NULL, "
                "expires_at = CASE WHEN status = 'expired' THEN NULL ELSE expires_at END, updated_at = ? "
                "WHERE id = ?",
                (utcnow(), args.id),
            )
            # parts not confirmed are sent again; confirmed ones keep their reference
            EventOutbox(store).append("sms_status", status_event(args.id, "queued", row[1], parts=row[2], retry=True))
            store.signal_after_commit("sms_outbox")
    finally:
        store.close()
    wake_daemon(config.data_dir, "sms_outbox")
    if args.json:
        print_json({"id": args.id, "status": "queued"})
    else:
        print(f"message {args.id} queued again")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from appliance.modem.service import SIM_CONTROL_NAME
    from appliance.modem.simulator import control_request

    config = load(args)
    path = config.db_path.parent / SIM_CONTROL_NAME
    if not path.exists():
        raise ApplianceError(
            f"no simulated modem control socket at {path}: is the daemon running with modem.driver = sim?"
        )
    requests: dict[str, dict[str, Any]] = {
        "inject": {"op": "inject_sms", "sender": args.sender, "text": args.text, "ucs2": args.ucs2},
        "ring": {"op": "ring", "number": args.sender},
        "state": {"op": "state"},
        "hang": {"op": "hang", "seconds": args.seconds},
        "unplug": {"op": "unplug"},
        "replug": {"op": "replug"},
        "fill": {"op": "fill_store"},
        "random": {"op": "random_sms", "per_hour": args.per_hour},
    }
    if args.action == "request":
        try:
            request = json.loads(args.request)
        except ValueError as err:
            raise UsageError(f"sms sim request: not JSON: {err}") from None
    else:
        request = requests[args.action]
    try:
        answer = control_request(path, request)
    except OSError as err:
        raise ApplianceError(f"simulated modem control socket {path}: {err}") from err
    print_json(answer)
    return 0 if answer.get("ok") else 1
