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

    prov = sub.add_parser(
        "provision",
        help="set up the modem and line found, check the SIM PIN, write the config",
        description="Find the GSM modem (--port or every port) and the voice modem, unlock the SIM without "
        "spending its last PIN try, set storage and notification routing, optionally send a test SMS and "
        "test the line, then (with --write) update the config, keeping its other keys. Stop the daemon first.",
    )
    prov.add_argument("--port", help="the GSM modem's port; default: every port found")
    prov.add_argument("--line-port", help="the voice modem's port; default: every port found")
    prov.add_argument("--no-line", action="store_true", help="this box has no phone line (line.driver = none)")
    prov.add_argument("--baudrate", type=int, default=115200)
    prov.add_argument("--pin", default="", help="the SIM PIN (only entered when at least 2 tries are left)")
    prov.add_argument("--test-sms", metavar="NUMBER", help="send a test SMS to NUMBER")
    prov.add_argument("--line-test", action="store_true", help="off-hook, listen for dial tone, on-hook")
    prov.add_argument("--country", default="FI", help="region for national numbers and tones (default FI)")
    prov.add_argument("--write", metavar="FILE", nargs="?", const="/etc/appliance/appliance.toml",
                      help="update FILE (default /etc/appliance/appliance.toml) with what was found")
    prov.add_argument("--json", action="store_true")
    prov.set_defaults(func=cmd_provision)

    from firmware_tools import field_cmds

    field_cmds.register(sub)
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
    from firmware_tools.probe import usb_devices

    ports = find_ports()
    devices = asyncio.run(probe_all(ports, args.baudrate))
    # USB line boxes are HID, not serial: they are known by id; USB modems are listed by their ports
    devices += [d for d in usb_devices() if d["kind"] == "usb-line-box"]
    if args.json:
        json.dump(devices, sys.stdout)
        sys.stdout.write("\n")
    else:
        if not devices:
            print("no serial ports found")
        for device in devices:
            _print_device(device)
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from pathlib import Path

    from firmware_tools.provision import provision, write_config

    report = asyncio.run(provision(
        port=args.port, line_port=args.line_port, baudrate=args.baudrate, pin=args.pin,
        test_sms=args.test_sms, line_test=args.line_test, no_line=args.no_line, region=args.country,
    ))
    doc = report.as_dict()
    if args.write and report.ok:
        doc["written"] = args.write
        backup = write_config(Path(args.write), report.config)
        doc["previous"] = str(backup) if backup else None
    if args.json:
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
    else:
        for step in report.steps:
            print(f"[{'ok' if step['ok'] else 'FAIL':>4}] {step['step']:<15} {step['detail']}")
        print("config:")
        for section, values in report.config.items():
            print(f"    [{section}] " + ", ".join(f"{k} = {v!r}" for k, v in values.items() if k != "pin"))
        if args.write and report.ok:
            print(f"written to {args.write}" + (f" (previous kept as {doc['previous']})" if doc["previous"] else ""))
        elif args.write:
            print(f"NOT written to {args.write}: fix the failed steps first")
    return 0 if report.ok else 1


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
