"""systemd notification (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) via ``$NOTIFY_SOCKET``.

Uses systemd-python's ``sd_notify`` where it is installed, else the same datagram
protocol by hand (a developer's laptop without libsystemd).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

DEFAULT_WATCHDOG_INTERVAL_S = 5.0  # ping period when systemd set no WATCHDOG_USEC


def _send_by_hand(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as err:
        log.debug("sd_notify to %s failed: %s", address, err)
        return False
    return True


class Notifier:
    """Tell systemd (or a test listening on ``$NOTIFY_SOCKET``) how the daemon is."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._sd_notify = None
        if self.enabled:
            try:
                from systemd import daemon as sd_daemon

                self._sd_notify = sd_daemon.notify
            except ImportError:
                self._sd_notify = None

    def notify(self, message: str) -> None:
        if not self.enabled:
            return
        if self._sd_notify is not None:
            try:
                if self._sd_notify(message):
                    return
            except OSError as err:
                log.debug("systemd notify failed: %s", err)
        _send_by_hand(message)

    def ready(self, status: str) -> None:
        self.notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    @staticmethod
    def watchdog_interval() -> float:
        """Half of systemd's WatchdogSec (WATCHDOG_USEC), else a default period."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        if pid and pid != str(os.getpid()):
            return DEFAULT_WATCHDOG_INTERVAL_S
        try:
            return max(0.5, int(usec) / 1e6 / 2) if usec else DEFAULT_WATCHDOG_INTERVAL_S
        except ValueError:
            return DEFAULT_WATCHDOG_INTERVAL_S
