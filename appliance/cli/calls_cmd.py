"""``appliance calls list [--json]`` and ``appliance calls dial (--to N | --contact ID) [--json]``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from appliance.calls.jobs import cancel_if_queued, get_job, queue_dial
from appliance.calls.records import get_call, list_calls
from appliance.cli.common import load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.errors import UsageError, ValidationError

if TYPE_CHECKING:
    from appliance.store.db import Store

PICKUP_WAIT_S = 15.0  # the daemon polls call_jobs every second; longer means it is not running
ATTEMPT_WAIT_S = 90.0  # one number: dial timeout plus the call itself until its outcome
POLL_S = 0.2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calls", help="the call log and outbound calls")
    calls = p.add_subparsers(dest="calls_command", metavar="ACTION")
    lst = calls.add_parser("list", help="finished and current calls, newest first")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.add_argument("--limit", type=int, default=100, help="at most this many calls (default 100)")
    lst.set_defaults(func=cmd_list)
    dial = calls.add_parser("dial", help="place an outbound call through the daemon's phone line")
    add_config_option(dial)
    who = dial.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="NUMBER", help="the number to call (national numbers in site.country)")
    who.add_argument("--contact", metavar="ID", help="a contact: their numbers are tried in order")
    dial.add_argument("--json", action="store_true", help="one JSON object per attempt, then the result")
    dial.add_argument("--no-wait", action="store_true", help="queue the call and print the job id only")
    dial.set_defaults(func=cmd_dial)


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
        keys = f"  keys {c['keys']}" if c["keys"] else ""
        rec = f"  rec {c['recording']}" if c["recording"] else ""
        print(f"{c['id']:>6} {c['direction']:<3} {c['started_at']}  {who}{name}  "
              f"{c['outcome'] or 'in progress'}{keys}{rec}")
    return 0


def _numbers(args: argparse.Namespace, store_country: str, store: Store) -> tuple[list[str], str | None]:
    from appliance.phone import to_e164

    if args.to:
        try:
            return [to_e164(args.to, store_country)], None
        except ValidationError as err:
            raise UsageError(str(err)) from None
    import importlib

    try:
        contacts = importlib.import_module("appliance.contacts")  # the workflows part (issue 9)
    except ImportError:
        raise UsageError("--contact needs the contacts part, not installed in this build") from None
    contact = contacts.get_contact(store, args.contact)
    if contact is None:
        raise UsageError(f"no contact {args.contact!r}")
    if not contact.phones:
        raise UsageError(f"contact {args.contact!r} has no phone number")
    return list(contact.phones), contact.contact_id


def cmd_dial(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        numbers, contact_id = _numbers(args, config.site.country, store)
        job_id = queue_dial(store, numbers, contact_id=contact_id, requested_by="cli")
        if args.no_wait:
            if args.json:
                print_json({"job_id": job_id, "status": "queued"})
            else:
                print(f"queued call job {job_id}")
            return 0
        return _follow(store, job_id, len(numbers), args.json)
    finally:
        store.close()


def _follow(store: Store, job_id: int, count: int, as_json: bool) -> int:
    """Print each attempt's call id as the daemon makes it, then the outcome."""
    seen: list[int] = []
    start = time.monotonic()
    deadline = start + PICKUP_WAIT_S + count * ATTEMPT_WAIT_S
    while True:
        job = get_job(store, job_id)
        assert job is not None
        if (job.status == "queued" and time.monotonic() - start > PICKUP_WAIT_S
                and cancel_if_queued(store, job_id, "no daemon picked the call up")):
            print(f"error: the daemon did not pick call job {job_id} up within {PICKUP_WAIT_S:.0f} s "
                  "(is `appliance run` running with a phone line?)", file=sys.stderr)
            return 1
        for call_id in job.attempts[len(seen):]:
            seen.append(call_id)
            call = get_call(store, call_id)
            number = call["number"] if call else None
            if as_json:
                print_json({"call_id": call_id, "number": number, "job_id": job_id})
            else:
                print(f"call {call_id}: dialing {number}")
            sys.stdout.flush()
        if job.status in ("done", "failed"):
            if as_json:
                print_json({"job_id": job_id, "outcome": job.outcome, "status": job.status, "error": job.error,
                            "call_ids": job.attempts})
            else:
                print(f"outcome: {job.outcome or job.status}" + (f" ({job.error})" if job.error else ""))
            return 0 if job.status == "done" else 1
        if time.monotonic() > deadline:
            print(f"error: call job {job_id} still {job.status} after {deadline - start:.0f} s; "
                  "see `appliance calls list`", file=sys.stderr)
            return 1
        time.sleep(POLL_S)
