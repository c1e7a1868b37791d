"""Logging: stderr for a terminal, journald fields under systemd; phone numbers masked."""

from __future__ import annotations

import logging
import os
import sys

from appliance.phone import mask_numbers_in

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
# Python level -> syslog priority (RFC 5424: 0 emerg .. 7 debug), what journald reads in "<N>"
SYSLOG_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a Python level (custom levels round down to the nearest known one)."""
    for level in sorted(SYSLOG_PRIORITY, reverse=True):
        if levelno >= level:
            return SYSLOG_PRIORITY[level]
    return 7


class JournalPrefixFormatter(logging.Formatter):
    """``<priority>name: message`` on every line: journald's stdout protocol (sd-daemon(3))."""

    def format(self, record: logging.LogRecord) -> str:
        prio = syslog_priority(record.levelno)
        # journald reads each line as its own entry: every line of a traceback carries the priority
        return "\n".join(f"<{prio}>{line}" for line in super().format(record).splitlines() or [""])


class MaskNumbers(logging.Filter):
    """Rewrite each record's message with phone numbers masked (patients' privacy)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _stderr_is_journal() -> bool:
    """True when systemd connected our stderr to journald (JOURNAL_STREAM names its inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if ":" not in stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    dev, _, ino = stream.partition(":")
    return f"{st.st_dev}:{st.st_ino}" == f"{dev}:{ino}"


def setup_logging(level: str = "info", mask_numbers: bool = True) -> None:
    """Configure the root logger once for the daemon or a command."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if _stderr_is_journal():
        try:
            from systemd.journal import JournalHandler

            handler = JournalHandler(SYSLOG_IDENTIFIER="appliance")
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        except ImportError:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JournalPrefixFormatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
    if mask_numbers:
        handler.addFilter(MaskNumbers())
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    for noisy in ("aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
