"""``appliance-tools``: the technician's hardware tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from appliance.errors import ApplianceError, UsageError
from firmware_tools.probe import find_ports, probe_all, probe_port


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="appliance-tools", description="Hardware tools for the lab appliance.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    probe = sub.add_parser(
        "probe",
        help="what is on each serial port (GSM modem, voice modem)",
        description="Examine --port, or every serial/USB port found. With --port, --json prints one "
        "object; without, a list of objects (one per port).",
    )
    probe.add_argument("--port", help="a port path or pyserial URL; default: every port found")
    probe.add_argument("--baudrate", type=int, default=115200)
    probe.add_argument("--json", action="store_true")
    probe.set_defaults(func=cmd_probe)
    return parser


def _print_device(device: dict[str, Any]) -> None:
    print(f"{device['port']}: {device['kind']}")
    for key, value in device.items():
        if key not in ("port", "kind") and value not in (None, ""):
            print(f"    {key:<18} {value}")


def cmd_probe(args: argparse.Namespace) -> int:
    if args.port:
        device = asyncio.run(probe_port(args.port, args.baudrate))
        if args.json:
            json.dump(device, sys.stdout)
            sys.stdout.write("\n")
        else:
            _print_device(device)
        return 0 if device["kind"] not in ("unavailable", "error") else 1
    ports = find_ports()
    devices = asyncio.run(probe_all(ports, args.baudrate))
    if args.json:
        json.dump(devices, sys.stdout)
        sys.stdout.write("\n")
    else:
        if not devices:
            print("no serial ports found")
        for device in devices:
            _print_device(device)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help(sys.stderr)
            return 2
        return int(args.func(args))
    except UsageError as err:
        print(f"appliance-tools: {err}", file=sys.stderr)
        return 2
    except ApplianceError as err:
        print(f"appliance-tools: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
