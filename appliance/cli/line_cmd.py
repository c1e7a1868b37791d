"""``appliance line sim ...``: drive the simulated phone line of a running daemon (``line.driver = sim``).

``appliance line sim ring --number 0401234567 --name ANNA --standard v23`` makes a
call arrive (caller ID in that standard, rings in site.country's cadence);
``keys 123#`` presses keys at the far end (DTMF audio on the line); ``hangup
[--mode event|busy|congestion|silence]`` ends the far end; ``desk-pickup`` lifts
the desk phone; ``busy``/``no-answer``/``answered``/``no-dialtone`` set what the
next dial meets; ``state`` shows the line. Prints the control socket's JSON answer.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from appliance.cli.common import load, print_json
from appliance.cli.main import add_config_option
from appliance.errors import ApplianceError, UsageError

ACTIONS = (
    "ring",
    "keys",
    "speak",
    "hangup",
    "desk-pickup",
    "desk-hangup",
    "busy",
    "no-answer",
    "answered",
    "congestion",
    "no-dialtone",
    "unplug",
    "replug",
    "random",
    "state",
    "request",
)


def register(sub: argparse._SubParsersAction) -> None:
    line = sub.add_parser("line", help="the phone line")
    add_config_option(line)
    cmds = line.add_subparsers(dest="line_command", metavar="COMMAND", parser_class=sub._parser_class)
    sim = cmds.add_parser("sim", help="drive the simulated line of a running daemon (line.driver = sim)")
    add_config_option(sim)
    sim.add_argument("action", choices=ACTIONS)
    sim.add_argument("value", nargs="?", default="", help="keys: the digits (e.g. 123#)")
    sim.add_argument("--number", default="", help="ring: the caller's number (empty: withheld)")
    sim.add_argument("--name", default="", help="ring: the caller's name (FSK standards)")
    sim.add_argument("--standard", choices=("bell202", "v23", "dtmf"), help="ring: caller-ID standard")
    sim.add_argument("--reason", choices=("private", "unavailable"), help="ring: why no number is given")
    sim.add_argument("--rings", type=int, default=10, help="ring: the caller gives up after this many rings")
    sim.add_argument("--script", default="", help='ring: the steps, JSON: [["keys","1"],["hangup","busy"]]')
    sim.add_argument("--mode", default="event", help="hangup: event, busy, congestion or silence")
    sim.add_argument("--seconds", type=float, default=2.0, help="speak: how long")
    sim.add_argument("--to", default="", help="busy/no-answer/...: only for dials to this number")
    sim.add_argument("--per-hour", type=float, default=0.0, help="random: calls per hour (0 stops)")
    sim.add_argument("--request", default="", help="request: a raw JSON control request")
    sim.set_defaults(func=cmd_sim)


def _request(args: argparse.Namespace) -> dict[str, Any]:
    action = args.action
    request: dict[str, Any]
    if action == "request":
        try:
            request = json.loads(args.request)
        except ValueError as err:
            raise UsageError(f"line sim request: not JSON: {err}") from None
        if not isinstance(request, dict):
            raise UsageError("line sim request: a JSON object is expected")
        return request
    if action == "ring":
        request = {"op": "ring", "number": args.number, "name": args.name, "rings": args.rings}
        if args.standard:
            request["standard"] = args.standard
        if args.reason:
            request["reason"] = args.reason
        if args.script:
            try:
                request["script"] = json.loads(args.script)
            except ValueError as err:
                raise UsageError(f"line sim ring --script: not JSON: {err}") from None
        return request
    if action == "keys":
        if not args.value:
            raise UsageError("line sim keys: give the digits, e.g. appliance line sim keys 123#")
        return {"op": "keys", "digits": args.value}
    if action == "speak":
        return {"op": "speak", "seconds": args.seconds}
    if action == "hangup":
        return {"op": "hangup", "mode": args.mode}
    if action == "random":
        return {"op": "random", "calls_per_hour": args.per_hour}
    if action in ("busy", "no-answer", "answered", "congestion", "no-dialtone"):
        return {"op": action.replace("-", "_"), "number": args.to}
    return {"op": action.replace("-", "_")}


def cmd_sim(args: argparse.Namespace) -> int:
    from appliance.line.service import SIM_CONTROL_NAME
    from appliance.ptysim import control_request

    request = _request(args)
    config = load(args)
    path = config.db_path.parent / SIM_CONTROL_NAME
    if not path.exists():
        raise ApplianceError(
            f"no simulated line control socket at {path}: is the daemon running with line.driver = sim?"
        )
    try:
        answer = control_request(path, request)
    except OSError as err:
        raise ApplianceError(f"simulated line control socket {path}: {err}") from err
    print_json(answer)
    return 0 if answer.get("ok") else 1
