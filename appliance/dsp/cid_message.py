"""Caller-ID messages on the line: SDMF/MDMF (Telcordia GR-30), ETSI EN 300 659-3 and
Japanese JCLIP (NTT).

Pure functions over bytes. A GR-30/ETSI message on the line is ``type, length, data...,
checksum`` where the checksum is the two's complement of the mod-256 sum of type, length
and data. A JCLIP packet is ``DLE SOH header DLE STX type length parameters DLE ETX
CRC-16`` in 7-bit characters with even parity (see :func:`build_jclip`).
:func:`parse_message` checks all of that and raises :class:`DecodeError` (and nothing
else) for any input it cannot read; :func:`build_sdmf` / :func:`build_mdmf` /
:func:`build_jclip` build messages (used by the line simulator and the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.errors import DecodeError

SDMF_CALLER_ID = 0x04
SDMF_MESSAGE_WAITING = 0x06
MDMF_CALLER_ID = 0x80  # also ETSI "call set-up"
MDMF_MESSAGE_WAITING = 0x82  # also ETSI "message waiting indicator"
KNOWN_TYPES = frozenset({SDMF_CALLER_ID, SDMF_MESSAGE_WAITING, MDMF_CALLER_ID, MDMF_MESSAGE_WAITING, 0x86, 0x89})
CALLER_ID_TYPES = frozenset({SDMF_CALLER_ID, MDMF_CALLER_ID})

PARAM_DATETIME = 0x01
PARAM_NUMBER = 0x02
PARAM_DIALED_NUMBER = 0x03
PARAM_NUMBER_ABSENT = 0x04
PARAM_NAME = 0x07
PARAM_NAME_ABSENT = 0x08
PARAM_VISUAL_INDICATOR = 0x0B
PARAM_MESSAGE_COUNT = 0x13

DATETIME_LEN = 8  # MMDDhhmm
MAX_DATA_LEN = 255
ABSENCE_REASONS = {"O": "unavailable", "P": "private"}
ABSENCE_CODES = {reason: code for code, reason in ABSENCE_REASONS.items()}


@dataclass(frozen=True)
class CallerIdMessage:
    """One decoded message. Fields not in the message are ``None``."""

    msg_type: int
    format: str  # "sdmf", "mdmf" or "jclip"
    number: str | None = None
    name: str | None = None
    datetime: str | None = None
    number_absent: str | None = None  # "unavailable" / "private"
    name_absent: str | None = None
    message_waiting: bool | None = None
    params: tuple[tuple[int, bytes], ...] = field(default=())

    @property
    def is_caller_id(self) -> bool:
        if self.format == "jclip":
            return self.msg_type == JCLIP_CALLER_ID
        return self.msg_type in CALLER_ID_TYPES

    def event_fields(self) -> dict[str, str]:
        """The caller-ID fields of a DSP event line (absent fields left out)."""
        out: dict[str, str] = {}
        if self.number:
            out["number"] = self.number
        if self.name:
            out["name"] = self.name
        if self.datetime:
            out["datetime"] = self.datetime
        out["format"] = self.format
        if self.number_absent and not self.number:
            out["reason"] = self.number_absent
        if self.name_absent and not self.name:
            out["name_reason"] = self.name_absent
        return out


def checksum(data: bytes) -> int:
    """Two's complement of the mod-256 sum of ``data`` (type, length and data bytes)."""
    return -sum(data) & 0xFF


def frame(msg_type: int, payload: bytes) -> bytes:
    """``type, length, payload, checksum`` for a payload of at most 255 bytes."""
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"message type {msg_type} is not a byte")
    if len(payload) > MAX_DATA_LEN:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_DATA_LEN}")
    body = bytes([msg_type, len(payload)]) + payload
    return body + bytes([checksum(body)])


def _check_datetime(value: str) -> str:
    if len(value) != DATETIME_LEN or not value.isascii() or not value.isdigit():
        raise ValueError(f"datetime must be 8 digits MMDDhhmm, got {value!r}")
    return value


def _ascii(value: str, what: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {value!r} is not ASCII") from None
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise ValueError(f"{what} {value!r} has a control character")
    return raw


def build_sdmf(datetime: str, number: str | None = None, *, number_absent: str | None = None) -> bytes:
    """An SDMF caller-ID message (0x04): ``MMDDhhmm`` then the number, or ``O``/``P``."""
    payload = _check_datetime(datetime).encode("ascii")
    if number:
        payload += _ascii(number, "number")
    elif number_absent:
        payload += ABSENCE_CODES[number_absent].encode("ascii")
    else:
        raise ValueError("an SDMF message needs a number or a number-absent reason")
    return frame(SDMF_CALLER_ID, payload)


def _param(ptype: int, value: bytes) -> bytes:
    if len(value) > MAX_DATA_LEN:
        raise ValueError(f"parameter 0x{ptype:02x} is too long ({len(value)} bytes)")
    return bytes([ptype, len(value)]) + value


def build_mdmf(
    *,
    number: str | None = None,
    name: str | None = None,
    datetime: str | None = None,
    number_absent: str | None = None,
    name_absent: str | None = None,
    msg_type: int = MDMF_CALLER_ID,
) -> bytes:
    """An MDMF / ETSI call set-up message: date-time, number (or reason), name (or reason)."""
    payload = b""
    if datetime is not None:
        payload += _param(PARAM_DATETIME, _check_datetime(datetime).encode("ascii"))
    if number:
        payload += _param(PARAM_NUMBER, _ascii(number, "number"))
    elif number_absent:
        payload += _param(PARAM_NUMBER_ABSENT, ABSENCE_CODES[number_absent].encode("ascii"))
    if name:
        payload += _param(PARAM_NAME, name.encode("latin-1"))
    elif name_absent:
        payload += _param(PARAM_NAME_ABSENT, ABSENCE_CODES[name_absent].encode("ascii"))
    return frame(msg_type, payload)


def build_message_waiting(active: bool, *, msg_type: int = MDMF_MESSAGE_WAITING) -> bytes:
    """A message-waiting indication (0x82 with the visual-indicator parameter)."""
    return frame(msg_type, _param(PARAM_VISUAL_INDICATOR, b"\xff" if active else b"\x00"))


def _text(raw: bytes) -> str:
    """Printable text of a field. Control bytes are dropped, not fatal: some exchanges
    send a lone 0x08 (backspace) where the name is unavailable (seen on Verizon
    lines, reported by the pycidminimodemwrap project)."""
    return bytes(b for b in raw if b >= 0x20 and b != 0x7F).decode("latin-1").strip()


def _datetime(raw: bytes) -> str | None:
    text = raw.decode("latin-1")
    if len(text) == DATETIME_LEN and text.isdigit():
        return text
    return None  # a bad date does not spoil the number


def _absence(raw: bytes) -> str:
    return ABSENCE_REASONS.get(raw.decode("latin-1").strip(), "unavailable")


def _parse_sdmf(msg_type: int, data: bytes) -> CallerIdMessage:
    if msg_type == SDMF_MESSAGE_WAITING:
        return CallerIdMessage(msg_type, "sdmf", message_waiting=data[:1] == b"B", params=((0, data),))
    if len(data) < DATETIME_LEN:
        raise DecodeError(f"SDMF message of {len(data)} bytes is shorter than its date")
    when = _datetime(data[:DATETIME_LEN])
    number = _text(data[DATETIME_LEN:])
    absent = None
    if number in ABSENCE_REASONS:
        absent, number = ABSENCE_REASONS[number], ""
    return CallerIdMessage(
        msg_type, "sdmf", number=number or None, datetime=when, number_absent=absent, params=((0, data),)
    )


def _parse_mdmf(msg_type: int, data: bytes) -> CallerIdMessage:
    params: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise DecodeError(f"MDMF parameter header cut at byte {pos}")
        ptype, plen = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + plen]
        if len(value) != plen:
            raise DecodeError(f"MDMF parameter 0x{ptype:02x} wants {plen} bytes, {len(value)} left")
        params.append((ptype, value))
        pos += 2 + plen
    number = name = when = number_absent = name_absent = None
    waiting: bool | None = None
    for ptype, value in params:
        if ptype == PARAM_DATETIME:
            when = _datetime(value)
        elif ptype == PARAM_NUMBER:
            number = _text(value) or None
        elif ptype == PARAM_NUMBER_ABSENT:
            number_absent = _absence(value)
        elif ptype == PARAM_NAME:
            name = _text(value) or None
        elif ptype == PARAM_NAME_ABSENT:
            name_absent = _absence(value)
        elif ptype == PARAM_VISUAL_INDICATOR and value:
            waiting = value[0] != 0
    return CallerIdMessage(
        msg_type,
        "mdmf",
        number=number,
        name=name,
        datetime=when,
        number_absent=number_absent,
        name_absent=name_absent,
        message_waiting=waiting,
        params=tuple(params),
    )


def parse_message(raw: bytes) -> CallerIdMessage:
    """Decodes one message (type, length, data, checksum, or a JCLIP packet);
    :class:`DecodeError` if bad."""
    if raw[:1] == bytes([JCLIP_FIRST]):
        return parse_jclip(raw)
    if len(raw) < 3:
        raise DecodeError(f"caller-ID message of {len(raw)} bytes is too short")
    msg_type, length = raw[0], raw[1]
    if len(raw) != length + 3:
        raise DecodeError(f"caller-ID length byte says {length} data bytes, got {len(raw) - 3}")
    if sum(raw) & 0xFF:
        raise DecodeError(f"caller-ID checksum 0x{raw[-1]:02x} is wrong (want 0x{checksum(raw[:-1]):02x})")
    data = raw[2:-1]
    if msg_type in (SDMF_CALLER_ID, SDMF_MESSAGE_WAITING):
        return _parse_sdmf(msg_type, data)
    if msg_type & 0x80:
        return _parse_mdmf(msg_type, data)
    raise DecodeError(f"caller-ID message type 0x{msg_type:02x} is not known")


# --- Japanese caller ID (NTT JCLIP) -------------------------------------------------
# Framing, parity and CRC as spandsp's adsi.c (ADSI_STANDARD_JCLIP) sends and checks
# them; parameter codes from spandsp's adsi.h.

DLE, SOH, STX, ETX = 0x10, 0x01, 0x02, 0x03
JCLIP_FIRST = 0x90  # DLE with its (even) parity bit: the first byte on the line
JCLIP_HEADER = 0x07
JCLIP_CALLER_ID = 0x40
JCLIP_NUMBER = 0x02
JCLIP_ABSENCE = 0x04  # 'P', 'O', 'C' or 'S'
JCLIP_DIALED_NUMBER = 0x09
JCLIP_NUMBER_DES = 0x21  # caller number data extension signal (kept, not interpreted)
JCLIP_MAX_PARAMS = 119  # spandsp's bound: the length is one 7-bit character
JCLIP_ABSENCE_REASONS = {"P": "private", "O": "unavailable", "C": "payphone", "S": "unavailable"}
JCLIP_ABSENCE_CODES = {"private": "P", "unavailable": "O", "payphone": "C"}


def crc16_kermit(data: bytes) -> int:
    """CRC-16, polynomial x^16+x^12+x^5+1 bit-reversed (0x8408), initial 0, no final
    XOR: spandsp's ``crc_itu16_calc(buf, len, 0)``."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def even_parity(byte: int) -> int:
    """The 7-bit character with its even-parity bit in bit 7."""
    low = byte & 0x7F
    return low | (0x80 if bin(low).count("1") & 1 else 0)


def _stuff(data: bytes) -> bytes:
    return data.replace(bytes([DLE]), bytes([DLE, DLE]))


def build_jclip(
    number: str | None = None,
    *,
    number_absent: str | None = None,
    dialed_number: str | None = None,
    msg_type: int = JCLIP_CALLER_ID,
    header: int = JCLIP_HEADER,
) -> bytes:
    """A JCLIP packet as its bytes go on the line: parity bits set, DLE doubled in the
    data, the CRC low byte first. The length counts the parameter bytes as sent
    (DLEs doubled), as spandsp does."""
    params = b""
    if number:
        params += _stuff(_param(JCLIP_NUMBER, _ascii(number, "number")))
    elif number_absent:
        params += _param(JCLIP_ABSENCE, JCLIP_ABSENCE_CODES[number_absent].encode("ascii"))
    if dialed_number:
        params += _stuff(_param(JCLIP_DIALED_NUMBER, _ascii(dialed_number, "dialed number")))
    if len(params) > JCLIP_MAX_PARAMS:
        raise ValueError(f"JCLIP parameters of {len(params)} bytes exceed {JCLIP_MAX_PARAMS}")
    body = bytes([DLE, SOH, header, DLE, STX, msg_type, len(params)])
    if len(params) == DLE:
        body += bytes([DLE])
    body += params + bytes([DLE, ETX])
    body = bytes(even_parity(b) for b in body)
    crc = crc16_kermit(body[2:])
    return body + bytes([crc & 0xFF, crc >> 8])


def _unstuff(data: bytes) -> tuple[bytes, int]:
    """The bytes before the first unpaired DLE ETX (DLE DLE made one) and the index just
    after that ETX; :class:`DecodeError` when there is none."""
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte != DLE:
            out.append(byte)
            i += 1
            continue
        if i + 1 >= len(data):
            break
        nxt = data[i + 1]
        if nxt == DLE:
            out.append(DLE)
        elif nxt == ETX:
            return bytes(out), i + 2
        else:
            raise DecodeError(f"JCLIP control DLE 0x{nxt:02x} inside the packet")
        i += 2
    raise DecodeError("JCLIP packet has no DLE ETX")


def parse_jclip(raw: bytes) -> CallerIdMessage:
    """Decodes one JCLIP packet (as :func:`build_jclip` makes it); :class:`DecodeError`
    if bad. The parity bits are dropped unchecked once the CRC has passed."""
    if len(raw) < 11:
        raise DecodeError(f"JCLIP packet of {len(raw)} bytes is too short")
    if crc16_kermit(raw[2:]) != 0:
        raise DecodeError("JCLIP CRC is wrong")
    chars = bytes(b & 0x7F for b in raw[:-2])
    if chars[:2] != bytes([DLE, SOH]) or chars[3:5] != bytes([DLE, STX]):
        raise DecodeError("JCLIP packet does not start DLE SOH header DLE STX")
    content, end = _unstuff(chars[5:])
    if end != len(chars) - 5:
        raise DecodeError("JCLIP packet has bytes after DLE ETX")
    if len(content) < 2:
        raise DecodeError("JCLIP packet has no message type and length")
    msg_type, length, data = content[0], content[1], content[2:]
    stuffed = len(_stuff(data))
    if length not in (len(data), stuffed):
        raise DecodeError(f"JCLIP length says {length} bytes, got {len(data)}")
    params: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise DecodeError(f"JCLIP parameter header cut at byte {pos}")
        ptype, plen = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + plen]
        if len(value) != plen:
            raise DecodeError(f"JCLIP parameter 0x{ptype:02x} wants {plen} bytes, {len(value)} left")
        params.append((ptype, value))
        pos += 2 + plen
    number = absent = None
    for ptype, value in params:
        if ptype == JCLIP_NUMBER:
            number = _text(value) or None
        elif ptype == JCLIP_ABSENCE:
            absent = JCLIP_ABSENCE_REASONS.get(value.decode("latin-1").strip(), "unavailable")
    return CallerIdMessage(msg_type, "jclip", number=number, number_absent=absent, params=tuple(params))
