"""``appliance complaints``: open one at the desk, list them, show one with its history."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.common import call_store, load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.complaints import Complaint, get_complaint, history, list_complaints, open_complaint
from appliance.contacts import get_contact
from appliance.daemon.wakesock import wake_daemon
from appliance.errors import UsageError
from appliance.phone import to_e164
from appliance.store.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complaints", help="customer complaints (QSE 2)")
    add_config_option(p)
    cmds = p.add_subparsers(dest="complaints_command", metavar="ACTION", parser_class=sub._parser_class)

    add = cmds.add_parser("add", help="open a complaint taken at the desk (the complainant gets an SMS)")
    add_config_option(add)
    add.add_argument("--text", required=True, help="the complaint in the complainant's words")
    who = add.add_mutually_exclusive_group()
    who.add_argument("--number", help="the complainant's phone (acknowledged and told the outcome by SMS)")
    who.add_argument("--contact", metavar="ID", help="the complainant's contact id")
    add.add_argument("--anonymous", action="store_true", help="keep no number and no contact")
    add.add_argument("--language", help="language of the SMS (default: the contact's, else English)")
    add.add_argument("--staff", help="who took it")
    add.add_argument("--json", action="store_true", help="print one JSON object")
    add.set_defaults(func=cmd_add)

    lst = cmds.add_parser("list", help="complaints, newest first")
    add_config_option(lst)
    lst.add_argument("--status", help="only this status (received, under_investigation, corrective_action, closed)")
    lst.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.set_defaults(func=cmd_list)

    show = cmds.add_parser("show", help="one complaint with its history")
    add_config_option(show)
    show.add_argument("reference", help="its reference (C-XXXXX) or id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)


def row(c: Complaint) -> dict[str, Any]:
    """INTERFACES.md §2 fields and more."""
    return {
        "complaint_id": c.complaint_id,
        "reference": c.reference,
        "channel": c.channel,
        "status": c.status,
        "anonymous": c.anonymous,
        "contact_id": c.contact_id,
        "number": c.number,
        "language": c.language,
        "text": c.text,
        "recording": c.recording,
        "outcome": c.outcome,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "closed_at": c.closed_at,
    }


def _add(store: Store, args: argparse.Namespace, region: str, lab: str) -> Complaint:
    number, contact_id, language = None, None, args.language
    if args.anonymous and (args.number or args.contact):
        raise UsageError("complaints add: --anonymous keeps no number or contact; give neither")
    if args.number:
        number = to_e164(args.number, region)
    if args.contact:
        contact = get_contact(store, args.contact)
        if contact is None or contact.deleted:
            raise UsageError(f"complaints add: no contact {args.contact!r}")
        contact_id = contact.contact_id
        number = contact.phones[0] if contact.phones else None
        language = language or contact.language
    with store.transaction(durable=True):
        return open_complaint(
            store, channel="desk", text=args.text, number=number, contact_id=contact_id,
            anonymous=args.anonymous, language=language, staff=args.staff, lab=lab,
        )


def cmd_add(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        complaint = store.call(_add, store, args, config.site.country, config.site.name or config.site.id)
    finally:
        store.close()
    wake_daemon(config.data_dir, "sms_outbox")
    if args.json:
        print_json(row(complaint))
    else:
        print(complaint.reference)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = [row(c) for c in call_store(load(args), list_complaints, status=args.status, limit=max(1, args.limit))]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no complaints")
    for r in rows:
        who = "anonymous" if r["anonymous"] else (r["contact_id"] or r["number"] or "-")
        text = (r["text"] or r["recording"] or "").replace("\n", " ")
        text = text if len(text) <= 40 else text[:39] + "…"
        print(f"{r['reference']:<8} {r['created_at']} {r['channel']:<5} {r['status']:<19} {who:<16} {text}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        complaint = get_complaint(store, args.reference)
        if complaint is None:
            raise UsageError(f"complaints show: no complaint {args.reference!r}")
        doc = {**row(complaint), "history": history(store, complaint.complaint_id)}
    finally:
        store.close()
    if args.json:
        print_json(doc)
        return 0
    for key, value in doc.items():
        if key != "history":
            print(f"{key:>13}: {value}")
    for h in doc["history"]:
        print(f"  {h['at']} {h['status']:<19} {h['source']:<7} {h['outcome'] or ''} {h['note']}")
    return 0
