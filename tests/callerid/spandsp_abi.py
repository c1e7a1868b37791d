"""spandsp's ADSI (caller-ID) transmitter and receiver through cffi ABI mode.

An independent implementation to test against and to compare with: Debian package
``libspandsp-dev`` (``libspandsp.so.2``). :data:`AVAILABLE` is False when it is not
installed; the tests that need it skip then.
"""

from __future__ import annotations

import ctypes.util
from typing import Any

import cffi

ADSI_STANDARD_CLASS = 1  # Bell 202
ADSI_STANDARD_CLIP = 2  # ETSI, V.23
ADSI_STANDARD_JCLIP = 4  # NTT, V.23, DLE-framed with CRC-16
ADSI_STANDARD_CLIP_DTMF = 5
SAMPLE_RATE = 8000  # spandsp works at 8 kHz only

_CDEF = """
typedef struct adsi_tx_state_s adsi_tx_state_t;
typedef struct adsi_rx_state_s adsi_rx_state_t;
typedef void (*put_msg_func_t)(void *user_data, const uint8_t *msg, int len);
adsi_rx_state_t *adsi_rx_init(adsi_rx_state_t *s, int standard, put_msg_func_t put_msg,
                              void *user_data);
int adsi_rx_free(adsi_rx_state_t *s);
int adsi_rx(adsi_rx_state_t *s, const int16_t amp[], int len);
adsi_tx_state_t *adsi_tx_init(adsi_tx_state_t *s, int standard);
int adsi_tx_free(adsi_tx_state_t *s);
void adsi_tx_set_preamble(adsi_tx_state_t *s, int preamble_len, int preamble_ones_len,
                          int postamble_ones_len, int stop_bits);
int adsi_tx(adsi_tx_state_t *s, int16_t amp[], int max_len);
int adsi_tx_put_message(adsi_tx_state_t *s, const uint8_t *msg, int len);
uint16_t crc_itu16_calc(const uint8_t *buf, int len, uint16_t crc);
"""

ffi = cffi.FFI()
ffi.cdef(_CDEF)
_lib: Any = None
for _name in ("libspandsp.so.2", "libspandsp.so", ctypes.util.find_library("spandsp")):
    if not _name:
        continue
    try:
        _lib = ffi.dlopen(_name)
        break
    except OSError:
        continue
AVAILABLE = _lib is not None
TX_CHUNK = 160


def adsi_transmit(message: bytes, standard: int, *, preamble_bits: int = -1,
                  mark_bits: int = -1, postamble_bits: int = -1, stop_bits: int = -1) -> bytes:
    """spandsp's caller-ID signal for ``message`` (FSK: type, length, data, checksum;
    DTMF: the digit string). -1 keeps spandsp's default preamble (300 + 80 marks)."""
    if not AVAILABLE:
        raise RuntimeError("libspandsp is not installed (apt-get install libspandsp-dev)")
    state = _lib.adsi_tx_init(ffi.NULL, standard)
    try:
        _lib.adsi_tx_set_preamble(state, preamble_bits, mark_bits, postamble_bits, stop_bits)
        if standard == ADSI_STANDARD_JCLIP:
            body = message  # type, (length: spandsp sets it), parameters DLE-stuffed
        elif standard == ADSI_STANDARD_CLIP_DTMF:
            body = message
        else:
            body = message[:-1]  # it adds the sum
        if _lib.adsi_tx_put_message(state, body, len(body)) <= 0:
            raise ValueError("spandsp refused the message")
        out = bytearray()
        buf = ffi.new("int16_t[]", TX_CHUNK)
        while True:
            n = _lib.adsi_tx(state, buf, TX_CHUNK)
            if n <= 0:
                break
            out += ffi.buffer(buf, 2 * n)
        return bytes(out)
    finally:
        _lib.adsi_tx_free(state)


def jclip_message(msg_type: int, params: list[tuple[int, bytes]]) -> bytes:
    """The message spandsp's JCLIP ``adsi_tx_put_message`` takes: type, a length byte it
    overwrites, and the parameters with each DLE doubled (as its ``adsi_add_field`` makes
    them). spandsp frames it (DLE SOH 0x07 DLE STX ... DLE ETX), sets the parity bits and
    appends the CRC itself."""
    out = bytearray([msg_type, 0])
    for ptype, value in params:
        out += bytes([ptype, len(value)]).replace(b"\x10", b"\x10\x10")
        out += value.replace(b"\x10", b"\x10\x10")
    return bytes(out)


def crc_itu16(data: bytes, crc: int = 0) -> int:
    """spandsp's ``crc_itu16_calc``."""
    if not AVAILABLE:
        raise RuntimeError("libspandsp is not installed")
    return int(_lib.crc_itu16_calc(data, len(data), crc))


class AdsiReceiver:
    """spandsp's receiver for one standard; ``messages`` collects what it decodes
    (type, length, data; spandsp strips the checksum; JCLIP: the packet from DLE SOH to
    DLE ETX, parity bits cleared, CRC stripped)."""

    def __init__(self, standard: int) -> None:
        if not AVAILABLE:
            raise RuntimeError("libspandsp is not installed")
        self.messages: list[bytes] = []
        self._callback = ffi.callback("void(void *, const uint8_t *, int)", self._put)
        self._state = _lib.adsi_rx_init(ffi.NULL, standard, self._callback, ffi.NULL)

    def _put(self, _user: Any, msg: Any, length: int) -> None:
        self.messages.append(bytes(ffi.buffer(msg, length)))

    def feed(self, pcm: bytes) -> None:
        n = len(pcm) // 2
        _lib.adsi_rx(self._state, ffi.from_buffer("int16_t[]", pcm), n)

    def close(self) -> None:
        if self._state is not None:
            _lib.adsi_rx_free(self._state)
            self._state = None
