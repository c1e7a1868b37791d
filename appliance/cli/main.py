"""``appliance``: one console script, one sub-command module each.

Each module in COMMAND_MODULES has ``register(subparsers)``, which adds its
sub-commands and sets ``func(args) -> int`` on them. Errors are translated here:
UsageError/ConfigError/ValidationError -> one line on stderr, exit 2; other
ApplianceError -> one line, exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from appliance import __version__
from appliance.errors import ApplianceError, ConfigError, DecodeError, UsageError, ValidationError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

COMMAND_MODULES = [
    "appliance.cli.daemon_cmd",
    "appliance.cli.status_cmd",
    "appliance.cli.users_cmd",
    "appliance.cli.dsp_cmd",
    "appliance.cli.sms_cmd",
    "appliance.cli.calls_cmd",
    "appliance.cli.ops_cmd",
    "appliance.cli.complaints_cmd",
    "appliance.cli.contacts_cmd",
    "appliance.cli.line_cmd",
    "appliance.cli.workflows_cmd",
]
# The module that registers each top-level command: only that one is imported to run it
# (`appliance dsp decode` need not pay for the store and web imports). Help imports all.
COMMAND_OWNERS = {
    "run": "appliance.cli.daemon_cmd",
    "status": "appliance.cli.status_cmd",
    "users": "appliance.cli.users_cmd",
    "dsp": "appliance.cli.dsp_cmd",
    "sms": "appliance.cli.sms_cmd",
    "calls": "appliance.cli.calls_cmd",
    "backup": "appliance.cli.ops_cmd",
    "restore": "appliance.cli.ops_cmd",
    "upgrade-db": "appliance.cli.ops_cmd",
    "migrate-down": "appliance.cli.ops_cmd",
    "line": "appliance.cli.line_cmd",
    "complaints": "appliance.cli.complaints_cmd",
    "contacts": "appliance.cli.contacts_cmd",
    "followups": "appliance.cli.workflows_cmd",
    "campaigns": "appliance.cli.workflows_cmd",
    "summary": "appliance.cli.workflows_cmd",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _command_word(argv: Sequence[str]) -> str | None:
    """The first word that is not an option (or the value of --config)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--config":
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="appliance", description="Customer-service appliance for lab receptions.")
    parser.add_argument("--version", action="version", version=f"appliance {__version__}")
    parser.add_argument(
        "--config", metavar="F", help="TOML config file (else $APPLIANCE_CONFIG, /etc/appliance/appliance.toml)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    owner = COMMAND_OWNERS.get(_command_word(argv) or "") if argv is not None else None
    for name in [owner] if owner else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(words)
        args = parser.parse_args(words)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.func(args))
    except (UsageError, ConfigError, ValidationError, DecodeError) as err:
        print(f"appliance: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ApplianceError as err:
        print(f"appliance: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_FAILURE


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config F`` on a sub-command too (``appliance run --config F``)."""
    parser.add_argument("--config", metavar="F", default=argparse.SUPPRESS, help="TOML config file")


if __name__ == "__main__":
    sys.exit(main())
