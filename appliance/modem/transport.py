"""The serial transport now lives in :mod:`appliance.serialport` (shared with the voice modem)."""

from appliance.serialport import (
    MAX_WRITE_QUEUE,
    READ_CHUNK,
    READ_POLL_S,
    WRITE_TIMEOUT_S,
    ProtocolSink,
    SerialTransport,
    connect,
    open_port,
)

__all__ = [
    "MAX_WRITE_QUEUE",
    "READ_CHUNK",
    "READ_POLL_S",
    "WRITE_TIMEOUT_S",
    "ProtocolSink",
    "SerialTransport",
    "connect",
    "open_port",
]
