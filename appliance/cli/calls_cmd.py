"""``appliance calls list [--json]``: finished and current calls, newest first."""

from __future__ import annotations

import argparse

from appliance.calls import list_calls
from appliance.cli.common import load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calls", help="the call log")
    calls = p.add_subparsers(dest="calls_command", metavar="ACTION")
    lst = calls.add_parser("list", help="finished and current calls, newest first")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.add_argument("--limit", type=int, default=100, help="at most this many calls (default 100)")
    lst.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    config = load(args)
    store = open_store(config)
    try:
        calls = list_calls(store, args.limit)
    finally:
        store.close()
    if args.json:
        print_json(calls)
        return 0
    if not calls:
        print("no calls")
    for c in calls:
        who = c["number"] or c["number_absent_reason"] or "unknown"
        name = f" ({c['caller_name']})" if c["caller_name"] else ""
        print(f"{c['id']:>6} {c['direction']:<3} {c['started_at']}  {who}{name}  {c['outcome'] or 'in progress'}")
    return 0
