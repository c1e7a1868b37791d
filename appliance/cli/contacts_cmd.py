"""``appliance contacts list``: the local contacts with consent, opt-out and possible duplicates;
``contacts opt-out|opt-in NUMBER``: what a person asked for at the desk or on the phone."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.common import call_store, load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.consent import opted_out_numbers, set_sms_consent
from appliance.contacts import duplicates_of, list_contacts
from appliance.phone import mask, to_e164
from appliance.store.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contacts", help="the contacts this box knows")
    add_config_option(p)
    cmds = p.add_subparsers(dest="contacts_command", metavar="ACTION", parser_class=sub._parser_class)
    lst = cmds.add_parser("list", help="contacts by name")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.set_defaults(func=cmd_list)
    for action, granted in (("opt-out", False), ("opt-in", True)):
        c = cmds.add_parser(
            action, help=f"record an SMS {action} a person asked for at the desk or on the phone (no SMS is sent)"
        )
        add_config_option(c)
        c.add_argument("number", help="the phone number; national numbers read in site.country")
        c.add_argument("--json", action="store_true")
        c.set_defaults(func=cmd_consent, granted=granted)


def contact_rows(store: Store) -> list[dict[str, Any]]:
    """INTERFACES.md §2 fields (``opted_out``: any of the contact's phones said STOP)."""
    rows = []
    for c in list_contacts(store):
        rows.append(
            {
                "contact_id": c.contact_id,
                "name": c.name,
                "phones": c.phones,
                "language": c.language,
                "consents": c.consents,
                "opted_out": bool(opted_out_numbers(store, c.phones)),
                "possible_duplicate_of": duplicates_of(store, c.contact_id),
                "birth_date": c.birth_date,
                "sex": c.sex,
                "tags": list(c.tags),
                "guardian_contact_id": c.guardian_contact_id,
                "local": c.local,
            }
        )
    return rows


def cmd_consent(args: argparse.Namespace) -> int:
    config = load(args)
    number = to_e164(args.number, config.site.country)  # ValidationError: exit 2
    store = open_store(config)
    try:
        data = store.call(_set_consent, store, number, args.granted)
    finally:
        store.close()
    if args.json:
        print_json(data)
    else:
        print(f"{mask(number)}: SMS {'allowed again' if args.granted else 'stopped'}")
    return 0


def _set_consent(store: Store, number: str, granted: bool) -> dict[str, Any]:
    with store.transaction(durable=True):
        return set_sms_consent(store, number, granted, source="desk")


def cmd_list(args: argparse.Namespace) -> int:
    rows = call_store(load(args), contact_rows)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no contacts")
    for r in rows:
        flags = " ".join(
            f for f, on in (("opted-out", r["opted_out"]), ("local", r["local"]),
                            ("dup?", bool(r["possible_duplicate_of"]))) if on
        )
        print(f"{r['contact_id']:<24} {r['name'][:28]:<28} {r['language'] or '-':<5} {', '.join(r['phones'])} {flags}")
    return 0
