"""``appliance followups|campaigns|summary``: see and drive the scheduled workflows.

- ``appliance followups list [--contact ID] [--status S] [--json]``: schedules and their reminders.
- ``appliance followups stop ID``: stop one schedule (as the central's ``followup_updates`` does).
- ``appliance campaigns dry-run|start NAME`` (a ``[campaigns.defined.NAME]``) or with
  ``--text``/``--template``/``--segment``: count recipients, parts and cost; or start it.
- ``appliance campaigns list|cancel``.
- ``appliance summary show [--date YYYY-MM-DD]`` (figures, nothing sent), ``summary list``.

These work whether the daemon runs or not: they read and write the store; the
daemon's ``workflows`` part sends (it looks at least every ``followups.poll_interval`` s).
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from appliance.cli.common import call_store, load, print_json
from appliance.cli.main import add_config_option
from appliance.config import Config
from appliance.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    _register_followups(sub)
    _register_campaigns(sub)
    _register_summary(sub)


def _register_followups(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("followups", help="follow-up reminder schedules")
    cmds = p.add_subparsers(dest="followups_command", metavar="ACTION")
    lst = cmds.add_parser("list", help="schedules, newest first, with their reminders")
    add_config_option(lst)
    lst.add_argument("--contact", help="only this contact's")
    lst.add_argument("--status", choices=("active", "finished", "stopped"))
    lst.add_argument("--json", action="store_true", help="a JSON list on stdout")
    lst.set_defaults(func=cmd_followups_list)
    stop = cmds.add_parser("stop", help="stop a schedule")
    add_config_option(stop)
    stop.add_argument("followup_id")
    stop.set_defaults(func=cmd_followups_stop)


def _definition_args(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    p.add_argument("name", nargs="?", help="a campaign defined in [campaigns.defined.NAME]")
    p.add_argument("--text", help="the message (instead of NAME)")
    p.add_argument("--template", help="a template name (instead of --text), with --param")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a template parameter")
    p.add_argument("--segment", help='JSON, e.g. {"age_min": 65, "tags_any": ["diabetes"]}')
    p.add_argument("--rate", type=int, help="SMS parts a minute for this campaign")
    p.add_argument("--json", action="store_true", help="JSON on stdout")


def _register_campaigns(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaigns", help="education campaigns")
    cmds = p.add_subparsers(dest="campaigns_command", metavar="ACTION")
    dry = cmds.add_parser("dry-run", help="count recipients, SMS parts and cost; send nothing")
    _definition_args(dry)
    dry.set_defaults(func=cmd_campaigns_dry_run)
    start = cmds.add_parser("start", help="fix the recipients and let the daemon send, paced")
    _definition_args(start)
    start.add_argument("--id", help="campaign id (default: NAME-<date>, or a random one)")
    start.set_defaults(func=cmd_campaigns_start)
    lst = cmds.add_parser("list", help="campaigns with their counts")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_campaigns_list)
    cancel = cmds.add_parser("cancel", help="stop a running campaign (what is queued stays queued)")
    add_config_option(cancel)
    cancel.add_argument("campaign_id")
    cancel.set_defaults(func=cmd_campaigns_cancel)


def _register_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="the daily summary")
    cmds = p.add_subparsers(dest="summary_command", metavar="ACTION")
    show = cmds.add_parser("show", help="a day's figures (nothing is sent)")
    add_config_option(show)
    show.add_argument("--date", help="local date YYYY-MM-DD (default today)")
    show.add_argument("--language", default="en", choices=("en", "fi", "sv", "zh"))
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_summary_show)
    lst = cmds.add_parser("list", help="summaries sent, newest first")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_summary_list)


# -- follow-ups ----------------------------------------------------------------


def cmd_followups_list(args: argparse.Namespace) -> int:
    from appliance.followups import list_followups

    followups = call_store(load(args), list_followups, contact_id=args.contact, status=args.status)
    rows = [f.as_dict() for f in followups]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no follow-ups")
    for r in rows:
        s = r["schedule"]
        plan = (f"+{s['first_after_days']}d then every {s['every_days']}d x{s['max_times']} "
                f"at {s['hour']:02}:{s['minute']:02}")
        state = r["status"] if r["status"] == "active" else f"{r['status']} ({r['stop_reason'] or 'done'})"
        nxt = f" next {r['next_due_at']}" if r["next_due_at"] else ""
        done = f"calls {r['sent']}" if r.get("channel") == "call" else f"sent {r['sent']}"
        print(f"{r['followup_id']:<24} {r['contact_id'] or r['number']:<16} {plan}  {done}  {state}{nxt}")
    return 0


def cmd_followups_stop(args: argparse.Namespace) -> int:
    from appliance.followups import stop_followups

    n = call_store(load(args), stop_followups, "staff", followup_id=args.followup_id)
    if not n:
        raise UsageError(f"followups stop: no active follow-up {args.followup_id!r}")
    print(f"stopped {args.followup_id}")
    return 0


# -- campaigns -----------------------------------------------------------------


def _definition(args: argparse.Namespace, config: Config) -> tuple[dict[str, Any], str]:
    """(definition, source) from NAME in the config or from the options."""
    if args.name:
        if args.text or args.template:
            raise UsageError("campaigns: give NAME or --text/--template, not both")
        found = config.campaigns.defined.get(args.name)
        if found is None:
            known = ", ".join(sorted(config.campaigns.defined)) or "none"
            raise UsageError(f"campaigns: no [campaigns.defined.{args.name}] in the configuration (defined: {known})")
        definition = dict(found)
        source = "config"
    else:
        if not args.text and not args.template:
            raise UsageError("campaigns: give NAME, --text or --template")
        definition = {"text": args.text} if args.text else {"template": args.template}
        if args.param:
            params = {}
            for item in args.param:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise UsageError(f"campaigns: --param {item!r}: expected K=V")
                params[key] = value
            definition["params"] = params
        source = "cli"
    if args.segment:
        try:
            segment = json.loads(args.segment)
        except ValueError as err:
            raise UsageError(f"campaigns: --segment is not JSON: {err}") from None
        definition["segment"] = segment
    if args.rate is not None:
        definition["rate_per_minute"] = args.rate
    return definition, source


def cmd_campaigns_dry_run(args: argparse.Namespace) -> int:
    from appliance.campaigns.campaigns import CampaignSettings, dry_run

    config = load(args)
    definition, _source = _definition(args, config)
    result = call_store(config, dry_run, CampaignSettings.from_config(config), definition)
    if args.json:
        print_json(result)
        return 0
    blocked = ", ".join(f"{k} {v}" for k, v in sorted(result["blocked"].items())) or "none"
    print(f"recipients {result['recipients']} (matched {result['matched']}, blocked: {blocked})")
    print(f"SMS parts {result['parts']}, cost {result['cost']:.2f} at {result['price_per_part']} a part")
    seconds = result["parts"] * 60 / result["rate_per_minute"]
    took = f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
    print(f"about {took} at {result['rate_per_minute']} parts/min (outside quiet hours)")
    for lang, text in result["texts"].items():
        print(f"  [{lang}] {result['parts_per_message'][lang]} part(s): {text}")
    return 0


def cmd_campaigns_start(args: argparse.Namespace) -> int:
    from appliance.campaigns.campaigns import CampaignSettings, start_campaign

    config = load(args)
    definition, source = _definition(args, config)
    default_id = f"{args.name}-{date.today().isoformat()}" if args.name else f"cli-{uuid.uuid4().hex[:12]}"
    campaign_id = args.id or default_id
    settings = CampaignSettings.from_config(config)
    result = call_store(config, start_campaign, settings, campaign_id, definition, source=source)
    if args.json:
        print_json(result)
    else:
        print(f"{result['campaign_id']}: {result['status']}, {result['recipients']} recipients")
    return 0


def cmd_campaigns_list(args: argparse.Namespace) -> int:
    from appliance.campaigns.campaigns import list_campaigns

    rows = call_store(load(args), list_campaigns)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no campaigns")
    for r in rows:
        print(f"{r['campaign_id']:<28} {r['status']:<9} recipients {r['recipients']}: queued {r['queued']}, "
              f"blocked {r['blocked']}, pending {r['pending']}")
    return 0


def cmd_campaigns_cancel(args: argparse.Namespace) -> int:
    from appliance.campaigns.campaigns import cancel_campaign

    ok = call_store(load(args), cancel_campaign, args.campaign_id)
    if not ok:
        raise UsageError(f"campaigns cancel: no running campaign {args.campaign_id!r}")
    print(f"cancelled {args.campaign_id}")
    return 0


# -- summary -------------------------------------------------------------------


def cmd_summary_show(args: argparse.Namespace) -> int:
    from appliance.summary.figures import day_figures, local_day, summary_text

    config = load(args)
    try:
        day = date.fromisoformat(args.date) if args.date else local_day(datetime.now(UTC), config.site.timezone)
    except ValueError:
        raise UsageError(f"summary show: --date {args.date!r}: expected YYYY-MM-DD") from None
    figures = call_store(config, day_figures, day, config.site.timezone, config.sms.price_per_part)
    if args.json:
        print_json(figures)
    else:
        print(summary_text(figures, args.language, config.site.name or config.site.id))
    return 0


def cmd_summary_list(args: argparse.Namespace) -> int:
    from appliance.summary.daily import sent_summaries

    rows = call_store(load(args), sent_summaries)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no summaries sent")
    for r in rows:
        f = r["figures"]
        print(f"{r['day']} sent {r['sent_at']}: calls {f['calls']['in']}, SMS {f['sms']['sent']}, "
              f"complaints {f['complaints']['opened']}/{f['complaints']['closed']}")
    return 0
