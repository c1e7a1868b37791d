"""``appliance-central``: the reference central endpoint and its push tools.

Examples::

    appliance-central serve --broker 127.0.0.1:1883 --db sqlite:///central.db
    appliance-central serve --broker mqtt.lab.example:8883 --tls --ca ca.pem \\
        --db postgresql://central@db/central --client-id central-2
    appliance-central push-contact --site helsinki-lab-3 --file contact.json
    appliance-central push-notification --site helsinki-lab-3 --file notification.json
    appliance-central push --site helsinki-lab-3 --stream surveys --file survey.json
    appliance-central stats --db sqlite:///central.db --json
    appliance-central fleet --sites 100 --workers 2 --seconds 30 --rate 0.5 --json

A ``--file`` holds one ``data`` object or a JSON list of them (``-`` reads stdin).
Exit 0 on success, 2 on bad usage or input, 1 on other failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, UsageError
from sync.central.db import open_db
from sync.central.server import CentralServer, CentralSettings, push
from sync.envelope import schema_problem

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DB_ENV = "APPLIANCE_CENTRAL_DB"
DEFAULT_DB = "sqlite:///appliance-central.db"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the MQTT broker")
    parser.add_argument("--prefix", default="lab/v1", help="topic prefix (mqtt.topic_prefix of the sites)")
    parser.add_argument(
        "--client-id",
        default=None,
        help="this instance's stable MQTT client id, unique per instance (default central-1, or central-I "
        "with --partition I/N: two instances with one id take each other's session over and over)",
    )
    parser.add_argument("--username", default=os.environ.get("APPLIANCE_CENTRAL_USERNAME", ""))
    parser.add_argument("--password", default=os.environ.get("APPLIANCE_CENTRAL_PASSWORD", ""))
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--ca", default="", help="CA certificate file")
    parser.add_argument("--cert", default="", help="client certificate file")
    parser.add_argument("--key", default="", help="client key file")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5", help="MQTT version")


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV, DEFAULT_DB),
        help=f"sqlite:///PATH or postgresql://USER@HOST/DB (default ${DB_ENV} or {DEFAULT_DB})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="appliance-central", description="Reference central endpoint for appliance sync.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    serve = sub.add_parser("serve", help="store every site's uplink and acknowledge it")
    _broker_options(serve)
    _db_option(serve)
    serve.add_argument("--group", default="central", help="shared-subscription group of the instances")
    serve.add_argument("--partition", default="", help="I/N: no shared subscriptions; store sites CRC-32 %% N == I")
    serve.set_defaults(func=cmd_serve)
    for name, stream, what in (
        ("push-contact", "contacts", "a contacts data object ({contact_id, version, contact|deleted})"),
        ("push-notification", "notifications", "a notifications data object"),
    ):
        p = sub.add_parser(name, help=f"send {what} to a site")
        _broker_options(p)
        _db_option(p)
        p.add_argument("--site", required=True)
        p.add_argument("--file", required=True, help="JSON file with the data object (or a list); - for stdin")
        p.set_defaults(func=cmd_push, stream=stream)
    generic = sub.add_parser("push", help="send data objects on any downlink stream")
    _broker_options(generic)
    _db_option(generic)
    generic.add_argument("--site", required=True)
    generic.add_argument("--stream", required=True)
    generic.add_argument("--file", required=True)
    generic.set_defaults(func=cmd_push)
    stats = sub.add_parser("stats", help="events stored per site and stream, watermarks, gaps")
    _db_option(stats)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    fleet = sub.add_parser("fleet", help="simulate N sites against W workers on a private broker; print figures")
    fleet.add_argument("--sites", type=int, required=True)
    fleet.add_argument("--workers", type=int, default=2)
    fleet.add_argument("--seconds", type=float, default=30.0, help="how long the sites produce")
    fleet.add_argument("--rate", type=float, default=0.5, help="events per second per site")
    fleet.add_argument("--database", default=None, help="central database URL (default: a private PostgreSQL)")
    fleet.add_argument("--broker", default=None, help="HOST:PORT of an existing broker (default: a private one)")
    fleet.add_argument("--hosts", type=int, default=None, help="site processes (default: one per 300 sites)")
    fleet.add_argument("--kill-worker-at", type=float, default=None, help="SIGKILL worker 1 this many s in")
    fleet.add_argument("--restart-broker-at", type=float, default=None, help="SIGKILL and restart the broker")
    fleet.add_argument("--broker-down", type=float, default=0.5, help="with --restart-broker-at: seconds down")
    fleet.add_argument("--connect-rate", type=float, default=200.0, help="sites started per second (0: all at once)")
    fleet.add_argument("--health-interval", type=float, default=5.0, help="each site's health report, seconds")
    fleet.add_argument("--no-downlink", action="store_true", help="push no contacts or notifications")
    fleet.add_argument("--json", action="store_true", help="print one JSON object")
    fleet.set_defaults(func=cmd_fleet)
    return parser


def _settings(args: argparse.Namespace) -> CentralSettings:
    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--broker {args.broker!r}: expected HOST:PORT")
    index, _, count = getattr(args, "partition", "").partition("/")
    if args.__dict__.get("partition") and not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise UsageError(f"--partition {args.partition!r}: expected I/N with 0 <= I < N")
    return CentralSettings(
        host=host,
        port=int(port),
        db_url=args.db,
        topic_prefix=args.prefix,
        group=getattr(args, "group", "central"),
        client_id=args.client_id or (f"central-{index}" if args.__dict__.get("partition") else "central-1"),
        username=args.username,
        password=args.password,
        tls=args.tls,
        ca=args.ca,
        cert=args.cert,
        key=args.key,
        protocol=args.protocol,
        partition=getattr(args, "partition", ""),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    server = CentralServer(_settings(args))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    server.start()
    print(f"appliance-central: serving {server.up_filter} into {args.db}", file=sys.stderr, flush=True)
    done.wait()
    server.stop()
    c = server.counters
    print(
        f"appliance-central: stopped; {c.stored} stored, {c.duplicates} duplicates, {c.invalid} invalid",
        file=sys.stderr,
    )
    return EXIT_OK


def _read_items(path: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--file {path}: {err.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"--file {path}: not JSON ({err.msg} at line {err.lineno})") from None
    items = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(i, dict) for i in items):
        raise UsageError(f"--file {path}: expected a JSON object or a list of objects")
    return items


def cmd_push(args: argparse.Namespace) -> int:
    items = _read_items(args.file)
    try:
        problems = [schema_problem(f"down_{args.stream}", item) for item in items]
    except FileNotFoundError:
        problems = []
    for index, problem in enumerate(problems):
        if problem:
            raise UsageError(f"--file {args.file}: item {index}: {problem}")
    envelopes = push(_settings(args), args.site, args.stream, items)
    for env in envelopes:
        print(json.dumps({"id": env["id"], "seq": env["seq"], "type": env["type"], "site": env["site"]}))
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    db = open_db(args.db)
    try:
        rows = db.stats()
        sites = db.site_status()
    finally:
        db.close()
    if args.json:
        print(json.dumps({"streams": rows, "sites": sites}))
        return EXIT_OK
    for r in rows:
        print(
            f"{r['site']:<24} {r['stream']:<18} events {r['events']:>8}  watermark {r['watermark']:>8}  "
            f"max {r['max_seq']:>8}  missing {r['missing']}"
        )
    for site, status in sorted(sites.items()):
        print(f"{site:<24} {'online' if status.get('online') else 'offline'}")
    return EXIT_OK


def cmd_fleet(args: argparse.Namespace) -> int:
    from sync.fleet.run import FleetOptions, run_fleet

    def terminate(*_: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the clean-up short
        sys.exit(EXIT_FAILURE)

    signal.signal(signal.SIGTERM, terminate)  # stop what was started (broker, workers, database), then exit
    result = run_fleet(
        FleetOptions(
            sites=args.sites,
            workers=args.workers,
            seconds=args.seconds,
            rate=args.rate,
            database=args.database,
            broker=args.broker,
            hosts=args.hosts,
            kill_worker_at=args.kill_worker_at,
            restart_broker_at=args.restart_broker_at,
            broker_down_s=args.broker_down,
            connect_rate=args.connect_rate,
            health_interval_s=args.health_interval,
            downlink=not args.no_downlink,
        )
    )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<22} {value}")
    return EXIT_OK if result["lost"] == 0 and result["gaps"] == 0 else EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if not getattr(args, "func", None):
            build_parser().print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.func(args))
    except UsageError as err:
        print(f"appliance-central: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ApplianceError, ConnectionError, TimeoutError, OSError) as err:
        print(f"appliance-central: {err}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
