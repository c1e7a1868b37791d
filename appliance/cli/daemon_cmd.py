"""``appliance run``: the daemon in the foreground."""

from __future__ import annotations

import argparse
import asyncio

from appliance.cli.common import load
from appliance.cli.main import add_config_option
from appliance.daemon.logsetup import setup_logging


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the daemon in the foreground")
    add_config_option(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    config = load(args)
    setup_logging(config.log.level, config.log.mask_numbers)
    from appliance.daemon.app import run_daemon

    return asyncio.run(run_daemon(config))
