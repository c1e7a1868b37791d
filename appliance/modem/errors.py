"""Errors of the AT layer, all under :class:`appliance.errors.DeviceError`."""

from __future__ import annotations

from appliance.errors import DeviceError
from appliance.modem.codes import cme_text, cms_text


class AtCommandError(DeviceError):
    """A command ended with ``ERROR`` (no code)."""

    def __init__(self, command: str, message: str = "ERROR") -> None:
        self.command = command
        super().__init__(f"{command}: {message}")


class CmeError(AtCommandError):
    """``+CME ERROR: <n>`` (TS 27.007): an equipment error, named by ``code``."""

    def __init__(self, command: str, code: int) -> None:
        self.code = code
        self.text = cme_text(code)
        super().__init__(command, f"+CME ERROR {code} ({self.text})")


class CmsError(AtCommandError):
    """``+CMS ERROR: <n>`` (TS 27.005): a message-service error, named by ``code``."""

    def __init__(self, command: str, code: int) -> None:
        self.code = code
        self.text = cms_text(code)
        super().__init__(command, f"+CMS ERROR {code} ({self.text})")


class CommandResult(DeviceError):
    """Another final result code (``NO CARRIER``, ``BUSY``...) where ``OK`` was wanted."""

    def __init__(self, command: str, result: str) -> None:
        self.result = result
        super().__init__(f"{command}: {result}")
