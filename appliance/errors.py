"""The appliance's one exception hierarchy.

Device and protocol code raise these; each boundary (CLI, web, MQTT, supervisor)
translates them into its own answer (exit status, HTTP status, an ``error`` event).
"""

from __future__ import annotations


class ApplianceError(Exception):
    """Base of every error the appliance raises on purpose."""


class ConfigError(ApplianceError):
    """A configuration key is unknown or its value is not allowed (exit status 2)."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"config: {key} = {value!r} is not allowed: {allowed}")


class MissingConfigKey(ConfigError):
    """A key that must be given (with a config file, ``modem.driver`` and ``line.driver``) is not."""

    def __init__(self, key: str, allowed: str) -> None:
        super().__init__(key, None, allowed)
        self.args = (f"config: {key} is missing: {allowed}",)

    def __str__(self) -> str:
        return str(self.args[0])


class UsageError(ApplianceError):
    """Bad command-line usage or bad input given to a command (exit status 2)."""


class StoreError(ApplianceError):
    """The SQLite store cannot be used."""


class StoreCorrupt(StoreError):
    """The database file failed its integrity check; it is left untouched."""


class StoreTooNew(StoreError):
    """The database was written by a newer version of the appliance."""


class StoreFull(StoreError):
    """The disk under the store is full; writes are refused until space is freed."""


class QueueFull(ApplianceError):
    """A bounded queue refused an item."""


class DeviceError(ApplianceError):
    """A device (modem, phone line, GPIO) failed or answered wrongly."""


class DeviceTimeout(DeviceError):
    """A device did not answer in time."""


class DeviceGone(DeviceError):
    """The device's port disappeared (unplugged)."""


class ProtocolError(ApplianceError):
    """Bytes from outside did not follow their protocol (AT lines, PDUs, MQTT payloads)."""


class DecodeError(ProtocolError):
    """A codec could not decode its input (PDU, caller-ID message, WAV file)."""


class ValidationError(ProtocolError):
    """A message was well-formed but its content broke the schema."""
