"""``appliance users add|passwd|remove|list``: accounts for the status page.

A password change and a removal end the account's sessions at once (the
sessions are rows in the store, read on every request by the running daemon).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from appliance.cli.common import load, open_store
from appliance.cli.main import add_config_option
from appliance.errors import UsageError
from appliance.users import DEFAULT_ROLE, ROLES, add_user, list_users, remove_user, set_password


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="accounts for the status page (technician, desk)")
    users = p.add_subparsers(dest="users_command", metavar="ACTION")
    add = users.add_parser("add", help="create (or reset the password of) an account")
    add_config_option(add)
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=DEFAULT_ROLE, help=f"default {DEFAULT_ROLE}")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_add)
    passwd = users.add_parser("passwd", help="change a password (ends the account's sessions)")
    add_config_option(passwd)
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd.set_defaults(func=cmd_passwd)
    remove = users.add_parser("remove", help="delete an account (ends its sessions)")
    add_config_option(remove)
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)
    lst = users.add_parser("list", help="the accounts, their roles and open sessions")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError("no password on standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise UsageError("the two passwords differ")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    config = load(args)
    password = _read_password(args.password_stdin)
    store = open_store(config)
    try:
        add_user(store, args.name, password, args.role)
    finally:
        store.close()
    print(f"user {args.name} saved ({args.role})")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    config = load(args)
    password = _read_password(args.password_stdin)
    store = open_store(config)
    try:
        set_password(store, args.name, password)
    finally:
        store.close()
    print(f"password of {args.name} changed; its sessions are ended")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        remove_user(store, args.name)
    finally:
        store.close()
    print(f"user {args.name} removed; its sessions are ended")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        users = list_users(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(users))
        return 0
    for u in users:
        print(f"{u['username']:<24} {u['role']:<11} sessions {u['sessions']}  since {u['created_at']}")
    if not users:
        print("no accounts: add one with `appliance users add NAME`")
    return 0
