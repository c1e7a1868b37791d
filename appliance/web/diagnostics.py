"""The diagnostics bundle a technician downloads: versions, config without secrets, log, health.

Recent log lines come from a bounded in-memory ring filled by a handler on the
root logger; every line is masked for phone numbers whatever ``log.mask_numbers``
says, because the bundle leaves the box.
"""

from __future__ import annotations

import collections
import io
import json
import logging
import platform
import sqlite3
import sys
import zipfile
from typing import Any

from appliance import __version__
from appliance.config import Config, describe
from appliance.phone import mask_numbers_in

LOG_LINES = 2000
SECRET_WORDS = ("password", "pin", "key", "secret", "token")


class RingLogHandler(logging.Handler):
    """Keeps the last ``LOG_LINES`` formatted log lines, numbers masked."""

    def __init__(self, size: int = LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(mask_numbers_in(self.format(record)))
        except Exception:  # noqa: BLE001 - a log handler must never raise into the logging code
            self.handleError(record)


def redacted_config(config: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, values in describe(config).items():
        out[section] = {
            k: ("(set, removed)" if v not in ("", None) else "")
            if any(w in k.lower() for w in SECRET_WORDS) else v
            for k, v in values.items()
        }
    return out


def bundle(config: Config, health: dict[str, Any], log_lines: list[str], schema_version: int) -> bytes:
    """A zip file: versions.json, config.json, health.json, log.txt."""
    import aiohttp

    versions = {
        "appliance": __version__, "python": sys.version, "sqlite": sqlite3.sqlite_version,
        "aiohttp": aiohttp.__version__, "platform": platform.platform(), "schema": schema_version,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("versions.json", json.dumps(versions, indent=2))
        zf.writestr("config.json", json.dumps(redacted_config(config), indent=2, default=str))
        zf.writestr("health.json", mask_numbers_in(json.dumps(health, indent=2, default=str)))
        zf.writestr("log.txt", "\n".join(mask_numbers_in(line) for line in log_lines) + "\n")
    return buf.getvalue()
