"""``appliance contacts list``: the local contacts with consent, opt-out and possible duplicates."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.common import load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.consent import opted_out_numbers
from appliance.contacts import duplicates_of, list_contacts
from appliance.store.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contacts", help="the contacts this box knows")
    add_config_option(p)
    cmds = p.add_subparsers(dest="contacts_command", metavar="ACTION", parser_class=sub._parser_class)
    lst = cmds.add_parser("list", help="contacts by name")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.set_defaults(func=cmd_list)


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


def cmd_list(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        rows = contact_rows(store)
    finally:
        store.close()
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
