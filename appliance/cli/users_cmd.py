"""``appliance users add NAME``: a technician account for the status page."""

from __future__ import annotations

import argparse
import getpass
import sys

from appliance.cli.common import load, open_store
from appliance.cli.main import add_config_option
from appliance.errors import UsageError
from appliance.users import add_user


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="technician accounts for the status page")
    users = p.add_subparsers(dest="users_command", metavar="ACTION")
    add = users.add_parser("add", help="create (or reset the password of) an account")
    add_config_option(add)
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_add)


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
        add_user(store, args.name, password)
    finally:
        store.close()
    print(f"user {args.name} saved")
    return 0
