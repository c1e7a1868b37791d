"""SMS PDUs (3GPP TS 23.040 TPDUs, TS 27.005 PDU mode): encode and decode, pure functions.

Use it like this::

    parts = encode_submit("+358401234567", "Your results are ready €")
    for p in parts:           # AT+CMGS=<p.tpdu_length>, then p.pdu and Ctrl-Z
        ...
    msg = decode_pdu(hex_from_cmt)          # SmsDeliver or SmsStatusReport
    text = join_parts([part1, part2])       # reassemble a concatenated message

What is covered: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT both ways; the GSM 7-bit
alphabet with its extension table, UCS-2 with surrogate pairs, 8-bit data; concatenation with
8- and 16-bit references (an escape pair or a surrogate pair never straddles two parts);
international, national, unknown and alphanumeric addresses; timestamps with their time zone;
relative, absolute and enhanced validity periods. National language shift tables
(TS 23.038 6.2.1.2.4) are not: such texts decode with the default tables.

Every decoder raises only :class:`appliance.errors.DecodeError`, with a message naming the
field that was wrong; every length read from the input is checked before it is used.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Literal

from appliance.errors import DecodeError
from appliance.sms import gsm7

Direction = Literal["mt", "mo"]
Encoding = Literal["gsm7", "ucs2", "8bit", "compressed"]
Outcome = Literal["delivered", "pending", "failed"]

DEFAULT_SMSC = "+358405202000"
DEFAULT_VALIDITY = timedelta(days=2)

MAX_USER_DATA_OCTETS = 140  # TS 23.040 9.2.3.24
MAX_SEPTETS = 160
MAX_UCS2_UNITS = 70
MAX_PARTS = 255  # the concatenation IE counts parts in one octet
MAX_ADDRESS_DIGITS = 20  # TS 23.040 9.1.2.5: 2..12 octets with length and type
MAX_SMSC_OCTETS = 11  # TS 24.011 8.2.5.1 RP address, length octet excluded
MAX_TPDU_OCTETS = 200  # the longest valid TPDU: 173 octets (STATUS-REPORT, every field)
_MAX_PDU_OCTETS = MAX_TPDU_OCTETS + 1 + MAX_SMSC_OCTETS
MAX_ALPHANUMERIC_CHARS = 11  # 10 octets of address value hold 11 septets

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
IEI_PORTS_8BIT = 0x04
IEI_PORTS_16BIT = 0x05

# TP-MTI by direction (TS 23.040 9.2.3.1).
_MTI_DELIVER = 0b00
_MTI_SUBMIT = 0b01
_MTI_STATUS_REPORT = 0b10
_MTI_RESERVED = 0b11

# TP-VPF (TS 23.040 9.2.3.3).
_VPF_NONE = 0b00
_VPF_ENHANCED = 0b01
_VPF_RELATIVE = 0b10
_VPF_ABSOLUTE = 0b11

# Type-of-number values (TS 23.040 9.1.2.5), bits 6..4 of the type-of-address octet.
TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_ALPHANUMERIC = 5
_TON_NAMES = {
    TON_UNKNOWN: "unknown",
    TON_INTERNATIONAL: "international",
    TON_NATIONAL: "national",
    TON_ALPHANUMERIC: "alphanumeric",
}
_TOA_BY_TYPE = {"unknown": 0x81, "international": 0x91, "national": 0xA1, "alphanumeric": 0xD0}

# Semi-octet digits of an address (TS 23.040 9.1.2.3; 0xF is the filler).
_BCD_DIGITS = "0123456789*#abc"
_DIGIT_VALUES = {ch: i for i, ch in enumerate("0123456789*#")}  # a, b, c: decoded, never sent

# TS 23.040 9.2.3.15, the values the standard names.
STATUS_TEXT: dict[int, str] = {
    0x00: "received by the recipient",
    0x01: "forwarded, delivery not confirmable",
    0x02: "replaced by the service centre",
    0x20: "congestion (still trying)",
    0x21: "recipient busy (still trying)",
    0x22: "no response from recipient (still trying)",
    0x23: "service rejected (still trying)",
    0x24: "quality of service not available (still trying)",
    0x25: "error in recipient (still trying)",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by recipient",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by originating entity",
    0x48: "deleted by service centre administration",
    0x49: "message does not exist",
    0x60: "congestion (gave up)",
    0x61: "recipient busy (gave up)",
    0x62: "no response from recipient (gave up)",
    0x63: "service rejected (gave up)",
    0x64: "quality of service not available (gave up)",
    0x65: "error in recipient (gave up)",
}


@dataclass(frozen=True)
class Concat:
    """A concatenation header (TS 23.040 9.2.3.24.1 / .8): part ``seq`` of ``total``."""

    ref: int
    total: int
    seq: int
    bits: int  # 8 or 16: the width of the reference


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT ready for ``AT+CMGS=<tpdu_length>`` followed by ``pdu`` and Ctrl-Z."""

    pdu: str  # uppercase hex, with a leading "00" SMSC octet (use the SIM's SMSC)
    tpdu_length: int  # octets without the SMSC octet
    part: int  # 1-based
    total: int


@dataclass(frozen=True)
class SmsDeliver:
    """An incoming message (SMS-DELIVER), one part of it if it is concatenated."""

    smsc: str | None
    sender: str  # "+..." international, digits national/unknown, the text when alphanumeric
    sender_type: str  # "international" | "national" | "unknown" | "alphanumeric"
    text: str  # 8-bit data: its octets as Latin-1 (lossless; raw_user_data has the bytes)
    encoding: str  # "gsm7" | "ucs2" | "8bit" | "compressed"
    timestamp: datetime  # service-centre time stamp, aware
    concat: Concat | None
    pid: int
    dcs: int
    user_data_header: bytes  # without its length octet; b"" when there is none
    raw_user_data: bytes  # after the header: octets (8-bit, UCS-2) or septets one per byte (GSM-7)
    message_class: int | None = None  # 0 (flash) .. 3, None when the DCS gives no class
    sender_ton: int = TON_UNKNOWN  # type of number as received (0..7)
    ports: tuple[int, int] | None = None  # (destination, source) application ports
    status_report_indication: bool = False  # TP-SRI: the sender asked for a status report
    information_elements: tuple[tuple[int, bytes], ...] = field(default=())


@dataclass(frozen=True)
class SmsStatusReport:
    """A delivery report (SMS-STATUS-REPORT) for a message we sent with TP-SRR."""

    smsc: str | None
    message_ref: int  # TP-MR of the SUBMIT it reports on
    recipient: str
    timestamp: datetime  # when the service centre received our SUBMIT (TP-SCTS)
    discharge_time: datetime  # delivered, or when the status was last changed (TP-DT)
    status: int  # TP-ST (TS 23.040 9.2.3.15)
    outcome: str  # "delivered" | "pending" | "failed"
    recipient_type: str = "unknown"
    text: str = ""  # optional user data, rare

    @property
    def description(self) -> str:
        """The status in words."""
        return status_description(self.status)


@dataclass(frozen=True)
class SmsSubmit:
    """An outgoing message (SMS-SUBMIT), as we send it or as a modem lists a stored one."""

    message_ref: int
    recipient: str
    text: str
    encoding: str
    concat: Concat | None
    validity: timedelta | datetime | None
    status_report: bool
    dcs: int
    smsc: str | None = None
    recipient_type: str = "unknown"
    pid: int = 0
    user_data_header: bytes = b""
    raw_user_data: bytes = b""
    reject_duplicates: bool = False


SmsPdu = SmsDeliver | SmsStatusReport | SmsSubmit


# ---------------------------------------------------------------------------------------------
# status codes


def status_outcome(status: int) -> Outcome:
    """Classify TP-ST: delivered, pending (the centre still tries) or failed.

    TS 23.040 9.2.3.15 groups the values by bits 6..5; it also says a reserved value is to be
    read as "service rejected", a failure, so only the named and centre-specific values of the
    first two groups count as delivered / pending.
    """
    if 0x00 <= status <= 0x02 or 0x10 <= status <= 0x1F:
        return "delivered"
    if 0x20 <= status <= 0x25 or 0x30 <= status <= 0x3F:
        return "pending"
    return "failed"


def status_description(status: int) -> str:
    """TP-ST in words."""
    text = STATUS_TEXT.get(status)
    if text is not None:
        return text
    group = {0: "completed", 1: "temporary error, still trying", 2: "permanent error"}.get(
        (status >> 5) & 0x3, "temporary error, gave up"
    )
    kind = "service-centre specific" if status & 0x10 and status < 0x80 else "reserved"
    return f"{kind} status 0x{status:02X} ({group})"


# ---------------------------------------------------------------------------------------------
# splitting text into parts


def _udh_octets(concat_16bit: bool) -> int:
    return 7 if concat_16bit else 6  # UDHL + IEI + IEDL + ref (1|2) + total + seq


def part_capacity(encoding: str, *, concat_16bit: bool = False) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) per part of a concatenated message."""
    udh_bits = 8 * _udh_octets(concat_16bit)
    if encoding == "gsm7":
        return (8 * MAX_USER_DATA_OCTETS - udh_bits) // 7  # 153 or 152
    if encoding == "ucs2":
        return (MAX_USER_DATA_OCTETS - _udh_octets(concat_16bit)) // 2  # 67 or 66
    raise ValueError(f"unknown encoding {encoding!r}")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-16-be")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        raise ValueError(f"text holds a lone surrogate U+{code:04X}, not a character") from None


def split_text(text: str, *, concat_16bit: bool = False) -> tuple[str, list[str]]:
    """The encoding ("gsm7" or "ucs2") and the parts ``encode_submit`` will send.

    GSM-7 when every character is in the default alphabet or its extension, else UCS-2.
    One part up to 160 septets / 70 code units; beyond, 153 / 67 per part (152 / 66 with a
    16-bit reference). Escape pairs and surrogate pairs are never cut in two.
    """
    _check_text(text)
    if gsm7.is_gsm7(text):
        encoding = "gsm7"
        if len(gsm7.encode(text)) <= MAX_SEPTETS:
            return encoding, [text]
        costs = gsm7.septet_costs(text)
    else:
        encoding = "ucs2"
        if len(text.encode("utf-16-be")) <= 2 * MAX_UCS2_UNITS:
            return encoding, [text]
        costs = _ucs2_costs(text)
    return encoding, _split_by_cost(text, costs, part_capacity(encoding, concat_16bit=concat_16bit))


def _ucs2_costs(text: str) -> list[int]:
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _split_by_cost(text: str, costs: list[int], capacity: int) -> list[str]:
    """Greedy split: each part holds as many whole characters as fit in ``capacity``."""
    cumulative = list(accumulate(costs))
    parts: list[str] = []
    start, used = 0, 0
    while start < len(text):
        end = bisect_right(cumulative, used + capacity, lo=start)
        parts.append(text[start:end])
        start, used = end, cumulative[end - 1]
    if len(parts) > MAX_PARTS:
        raise ValueError(f"text needs {len(parts)} parts, at most {MAX_PARTS} can be concatenated")
    return parts or [""]


# ---------------------------------------------------------------------------------------------
# encoding helpers


def _encode_address_digits(number: str) -> tuple[int, bytes]:
    """(semi-octet count, swapped BCD octets) of a digit string."""
    try:
        values = [_DIGIT_VALUES[ch] for ch in number]
    except KeyError as err:
        raise ValueError(f"phone number holds {err.args[0]!r}; allowed are 0-9 * #") from None
    if len(values) > MAX_ADDRESS_DIGITS:
        raise ValueError(f"phone number has {len(values)} digits, at most {MAX_ADDRESS_DIGITS}")
    if len(values) % 2:
        values.append(0xF)
    return len(number), bytes(values[i] | (values[i + 1] << 4) for i in range(0, len(values), 2))


def _address_kind(number: str) -> str:
    if number.startswith("+"):
        return "international"
    if number and all(ch in _DIGIT_VALUES for ch in number):
        return "unknown"
    return "alphanumeric"


def _encode_address(number: str, kind: str | None = None) -> bytes:
    """TP-DA / TP-OA: length (useful semi-octets), type of address, value."""
    kind = kind or _address_kind(number)
    if kind == "alphanumeric":
        if not number or len(number) > MAX_ALPHANUMERIC_CHARS:
            raise ValueError(f"alphanumeric address must be 1..{MAX_ALPHANUMERIC_CHARS} characters")
        septets = gsm7.encode(number)
        if len(septets) > MAX_ALPHANUMERIC_CHARS:
            raise ValueError("alphanumeric address is too long in GSM 7-bit")
        packed = gsm7.pack_septets(septets)
        semi_octets = (7 * len(septets) + 3) // 4
        return bytes([semi_octets, _TOA_BY_TYPE[kind]]) + packed
    if kind not in _TOA_BY_TYPE:
        raise ValueError(f"unknown address type {kind!r}")
    digits = number[1:] if number.startswith("+") else number
    if not digits:
        raise ValueError("empty phone number")
    count, value = _encode_address_digits(digits)
    return bytes([count, _TOA_BY_TYPE[kind]]) + value


def _encode_smsc(smsc: str | None) -> bytes:
    if not smsc:
        return b"\x00"
    address = _encode_address(smsc, "international" if smsc.startswith("+") else "unknown")
    return bytes([len(address) - 1]) + address[1:]  # RP length counts octets, not digits


def _bcd(value: int) -> int:
    return (value % 10) << 4 | (value // 10)  # swapped semi-octets


def _encode_timestamp(when: datetime) -> bytes:
    """TS 23.040 9.2.3.11: YY MM DD hh mm ss, then the zone in quarter hours."""
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("timestamp must be timezone-aware")
    quarters, rest = divmod(int(offset.total_seconds()), 900)
    if rest:
        raise ValueError(f"time zone offset {offset} is not a whole number of quarter hours")
    if not -79 <= quarters <= 79:
        raise ValueError(f"time zone offset {offset} cannot be encoded")
    tz = _bcd(abs(quarters)) | (0x08 if quarters < 0 else 0)
    fields = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second)
    return bytes(_bcd(v) for v in fields) + bytes([tz])


def relative_validity_code(validity: timedelta) -> int:
    """TP-VP relative format (TS 23.040 9.2.3.12.1): the shortest period not below ``validity``."""
    minutes = validity.total_seconds() / 60
    if minutes <= 12 * 60:
        return max(0, int(-(-minutes // 5)) - 1)  # (VP+1) x 5 min
    if minutes <= 24 * 60:
        return 143 + int(-(-(minutes - 12 * 60) // 30))  # 12 h + (VP-143) x 30 min
    days = validity.total_seconds() / 86400
    if days <= 30:
        return 166 + int(-(-days // 1))  # (VP-166) days
    weeks = int(-(-days // 7))
    return min(255, 192 + weeks)  # (VP-192) weeks


def relative_validity(code: int) -> timedelta:
    """The period a TP-VP relative code stands for."""
    if code <= 143:
        return timedelta(minutes=(code + 1) * 5)
    if code <= 167:
        return timedelta(hours=12, minutes=(code - 143) * 30)
    if code <= 196:
        return timedelta(days=code - 166)
    return timedelta(weeks=code - 192)


def _udh_concat(ref: int, total: int, seq: int, bits16: bool) -> bytes:
    if bits16:
        return bytes([IEI_CONCAT_16BIT, 4, ref >> 8, ref & 0xFF, total, seq])
    return bytes([IEI_CONCAT_8BIT, 3, ref, total, seq])


def _encode_user_data(text: str, encoding: str, udh_ies: bytes) -> tuple[int, int, bytes]:
    """(DCS, UDL, UD) for ``text`` with the given information elements (b"" for none)."""
    udh = bytes([len(udh_ies)]) + udh_ies if udh_ies else b""
    if encoding == "gsm7":
        septets = gsm7.encode(text)
        fill = (7 - (8 * len(udh)) % 7) % 7
        header_septets = (8 * len(udh) + fill) // 7
        udl = header_septets + len(septets)
        if udl > MAX_SEPTETS:
            raise ValueError(f"{udl} septets of user data, at most {MAX_SEPTETS}")
        return 0x00, udl, udh + gsm7.pack_septets(septets, fill)
    if encoding == "ucs2":
        body = text.encode("utf-16-be")
        dcs = 0x08
    elif encoding == "8bit":
        body = text.encode("latin-1")
        dcs = 0x04
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    ud = udh + body
    if len(ud) > MAX_USER_DATA_OCTETS:
        raise ValueError(f"{len(ud)} octets of user data, at most {MAX_USER_DATA_OCTETS}")
    return dcs, len(ud), ud


def _pick_ref(concat_ref: int | None, concat_16bit: bool) -> int:
    limit = 0x10000 if concat_16bit else 0x100
    if concat_ref is None:
        return random.randrange(limit)  # not a secret; only needs to differ between messages
    if not 0 <= concat_ref < limit:
        raise ValueError(f"concat_ref must be 0..{limit - 1}, got {concat_ref}")
    return concat_ref


# ---------------------------------------------------------------------------------------------
# encoders


def encode_submit(
    number: str,
    text: str,
    *,
    status_report: bool = True,
    validity: timedelta | None = DEFAULT_VALIDITY,
    concat_ref: int | None = None,
    concat_16bit: bool = False,
    message_ref: int = 0,
) -> list[SubmitPart]:
    """SMS-SUBMIT PDUs for ``text`` to ``number`` ("+<E.164>", or digits sent as unknown type).

    Each part carries TP-SRR when ``status_report`` is set (a delivery report per part) and
    TP-MR ``message_ref``: with ``AT+CMGS`` the modem assigns the reference it reports in
    ``+CMGS: <mr>`` (TS 27.005 3.5.1), so the value here rarely matters.
    Raises ValueError for a number or text that cannot be sent.
    """
    if not 0 <= message_ref <= 0xFF:
        raise ValueError(f"message_ref must be 0..255, got {message_ref}")
    if _address_kind(number) == "alphanumeric":
        raise ValueError("recipient must be a phone number (+ and digits)")
    address = _encode_address(number)
    encoding, parts = split_text(text, concat_16bit=concat_16bit)
    total = len(parts)
    ref = _pick_ref(concat_ref, concat_16bit) if total > 1 else 0
    vp = b"" if validity is None else bytes([relative_validity_code(validity)])
    result: list[SubmitPart] = []
    for seq, chunk in enumerate(parts, start=1):
        ies = _udh_concat(ref, total, seq, concat_16bit) if total > 1 else b""
        dcs, udl, ud = _encode_user_data(chunk, encoding, ies)
        first = _MTI_SUBMIT
        if validity is not None:
            first |= _VPF_RELATIVE << 3
        if status_report:
            first |= 0x20
        if ies:
            first |= 0x40
        tpdu = bytes([first, message_ref]) + address + bytes([0x00, dcs]) + vp + bytes([udl]) + ud
        result.append(SubmitPart("00" + tpdu.hex().upper(), len(tpdu), seq, total))
    return result


def encode_deliver(
    sender: str,
    text: str,
    timestamp: datetime,
    *,
    smsc: str = DEFAULT_SMSC,
    concat_ref: int | None = None,
    concat_16bit: bool = False,
    force_ucs2: bool = False,
    sender_type: str | None = None,
) -> list[str]:
    """SMS-DELIVER PDUs (uppercase hex, with the SMSC part), one per part.

    ``sender``: "+<E.164>" (international), digits (unknown type, or ``sender_type="national"``)
    or up to 11 characters of GSM-7 text (alphanumeric). For the modem simulator and tests.
    """
    address = _encode_address(sender, sender_type)
    _check_text(text)
    if force_ucs2:
        encoding = "ucs2"
        if len(text.encode("utf-16-be")) <= 2 * MAX_UCS2_UNITS:
            parts = [text]
        else:
            capacity = part_capacity("ucs2", concat_16bit=concat_16bit)
            parts = _split_by_cost(text, _ucs2_costs(text), capacity)
    else:
        encoding, parts = split_text(text, concat_16bit=concat_16bit)
    total = len(parts)
    ref = _pick_ref(concat_ref, concat_16bit) if total > 1 else 0
    scts = _encode_timestamp(timestamp)
    head = _encode_smsc(smsc)
    out: list[str] = []
    for seq, chunk in enumerate(parts, start=1):
        ies = _udh_concat(ref, total, seq, concat_16bit) if total > 1 else b""
        dcs, udl, ud = _encode_user_data(chunk, encoding, ies)
        first = _MTI_DELIVER | 0x04  # TP-MMS set: no more messages waiting
        if ies:
            first |= 0x40
        tpdu = bytes([first]) + address + bytes([0x00, dcs]) + scts + bytes([udl]) + ud
        out.append((head + tpdu).hex().upper())
    return out


def encode_status_report(
    message_ref: int,
    recipient: str,
    status: int,
    timestamp: datetime,
    discharge_time: datetime,
    *,
    smsc: str = DEFAULT_SMSC,
) -> str:
    """An SMS-STATUS-REPORT PDU (uppercase hex, with the SMSC part), for the simulator and tests."""
    if not 0 <= message_ref <= 0xFF:
        raise ValueError(f"message_ref must be 0..255, got {message_ref}")
    if not 0 <= status <= 0xFF:
        raise ValueError(f"status must be 0..255, got {status}")
    first = _MTI_STATUS_REPORT | 0x04  # TP-MMS: no more messages; TP-SRQ 0: a SUBMIT's result
    tpdu = (
        bytes([first, message_ref])
        + _encode_address(recipient)
        + _encode_timestamp(timestamp)
        + _encode_timestamp(discharge_time)
        + bytes([status])
    )
    return (_encode_smsc(smsc) + tpdu).hex().upper()


# ---------------------------------------------------------------------------------------------
# decoding


class _Reader:
    """Bounds-checked cursor over the PDU; every short read is a DecodeError naming the field."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def octet(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(f"PDU truncated: {what} missing at octet {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            have = len(self.data) - self.pos
            raise DecodeError(f"PDU truncated: {what} needs {n} octets at octet {self.pos}, {have} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def remaining(self) -> int:
        return len(self.data) - self.pos


def _to_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif isinstance(data, str):
        if len(data) > 4 * _MAX_PDU_OCTETS:  # before any work on it: bound the cost of junk
            raise DecodeError(f"PDU too long: {len(data)} characters")
        text = "".join(data.split())
        if len(text) > 2 * _MAX_PDU_OCTETS:
            raise DecodeError(f"PDU too long: {len(text)} hex digits")
        if len(text) % 2:
            raise DecodeError(f"PDU hex has an odd number of digits ({len(text)})")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise DecodeError("PDU is not hexadecimal") from None
    else:
        raise DecodeError(f"PDU must be hex text or bytes, got {type(data).__name__}")
    if len(raw) > _MAX_PDU_OCTETS:
        raise DecodeError(f"PDU too long: {len(raw)} octets")
    if not raw:
        raise DecodeError("PDU is empty")
    return raw


def _decode_digits(value: bytes, count: int, what: str) -> str:
    """Swapped BCD digits. A length counting the trailing filler (seen from real modems) is
    forgiven; a filler followed by digits is not."""
    out: list[str] = []
    filler_at: int | None = None
    for i in range(count):
        octet = value[i // 2]
        nibble = (octet >> 4) if i % 2 else (octet & 0x0F)
        if nibble == 0xF:
            filler_at = i if filler_at is None else filler_at
        elif filler_at is not None:
            raise DecodeError(f"{what}: filler semi-octet at digit {filler_at + 1} inside the number")
        else:
            out.append(_BCD_DIGITS[nibble])
    return "".join(out)


def _format_number(toa: int, digits: str) -> tuple[str, str, int]:
    ton = (toa >> 4) & 0x07
    kind = _TON_NAMES.get(ton, "unknown")
    if ton == TON_INTERNATIONAL:
        return "+" + digits, kind, ton
    return digits, kind, ton


def _decode_address(reader: _Reader, what: str) -> tuple[str, str, int]:
    """TP-OA / TP-DA / TP-RA -> (address, type name, TON)."""
    semi_octets = reader.octet(f"{what} length")
    toa = reader.octet(f"{what} type")
    if semi_octets > MAX_ADDRESS_DIGITS:
        raise DecodeError(f"{what}: bad length {semi_octets} (at most {MAX_ADDRESS_DIGITS})")
    value = reader.take((semi_octets + 1) // 2, f"{what} value")
    ton = (toa >> 4) & 0x07
    if ton == TON_ALPHANUMERIC:
        septets = gsm7.unpack_septets(value, (semi_octets * 4) // 7)
        return gsm7.decode(septets), "alphanumeric", ton
    return _format_number(toa, _decode_digits(value, semi_octets, what))


def _decode_smsc(reader: _Reader) -> str | None:
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    if length > MAX_SMSC_OCTETS:
        raise DecodeError(f"SMSC: bad length {length} (at most {MAX_SMSC_OCTETS})")
    toa = reader.octet("SMSC type")
    value = reader.take(length - 1, "SMSC address")
    count = 2 * len(value)
    if value and (value[-1] >> 4) == 0xF:
        count -= 1
    return _format_number(toa, _decode_digits(value, count, "SMSC"))[0] or None


def _semi(octet: int, what: str) -> int:
    low, high = octet & 0x0F, octet >> 4
    if low > 9 or high > 9:
        raise DecodeError(f"{what}: semi-octet 0x{octet:02X} is not two decimal digits")
    return low * 10 + high


def _century(year: int) -> int:
    # Two-digit years, read as strptime's %y does; only old test vectors carry 7x..9x.
    return 1900 if year >= 70 else 2000


def _decode_timestamp(raw: bytes, what: str) -> datetime:
    year, month, day, hour, minute, second = (_semi(b, what) for b in raw[:6])
    tz = raw[6]
    quarters = _semi(tz & 0xF7, what + " time zone")
    if tz & 0x08:
        quarters = -quarters
    try:
        zone = timezone(timedelta(minutes=15 * quarters))
        return datetime(_century(year) + year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as err:
        raise DecodeError(f"{what}: not a valid date and time ({err})") from None


def _decode_enhanced_validity(raw: bytes) -> timedelta | None:
    """TS 23.040 9.2.3.12.3: the first octet says the format of the rest."""
    fmt = raw[0] & 0x07
    if fmt == 0b001:
        return relative_validity(raw[1])
    if fmt == 0b010:
        return timedelta(seconds=raw[1])
    if fmt == 0b011:
        hh, mm, ss = (_semi(b, "enhanced validity period") for b in raw[1:4])
        return timedelta(hours=hh, minutes=mm, seconds=ss)
    if fmt == 0b000:
        return None
    raise DecodeError(f"enhanced validity period: reserved format {fmt}")


def _dcs_info(dcs: int) -> tuple[str, int | None]:
    """TS 23.038 4: (encoding, message class) of a data coding scheme octet."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding, possibly marked for automatic deletion
        if dcs & 0x20:
            return "compressed", (dcs & 0x03) if dcs & 0x10 else None
        alphabet = (dcs >> 2) & 0x03
        encoding = {0: "gsm7", 1: "8bit", 2: "ucs2"}.get(alphabet, "gsm7")  # 3: reserved
        return encoding, (dcs & 0x03) if dcs & 0x10 else None
    if group in (0xC, 0xD):  # message waiting indication, default alphabet
        return "gsm7", None
    if group == 0xE:  # message waiting indication, UCS-2
        return "ucs2", None
    if group == 0xF:  # data coding / message class
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03
    return "gsm7", None  # 0x8..0xB reserved: TS 23.038 says read as the default alphabet


InformationElements = tuple[tuple[int, bytes], ...]


def _parse_udh(udh: bytes) -> tuple[InformationElements, Concat | None, tuple[int, int] | None]:
    """Information elements of a user data header (without its length octet).

    A concatenation or port IE with a wrong length or impossible values is ignored, as
    TS 23.040 9.2.3.24.1 asks; an IE running past the header is a DecodeError.
    """
    ies: list[tuple[int, bytes]] = []
    concat: Concat | None = None
    ports: tuple[int, int] | None = None
    pos = 0
    while pos < len(udh):
        if pos + 2 > len(udh):
            raise DecodeError(f"bad UDH: information element at octet {pos} lacks its length")
        iei, iedl = udh[pos], udh[pos + 1]
        if pos + 2 + iedl > len(udh):
            raise DecodeError(f"bad UDH: element 0x{iei:02X} claims {iedl} octets, {len(udh) - pos - 2} left")
        body = udh[pos + 2 : pos + 2 + iedl]
        pos += 2 + iedl
        ies.append((iei, body))
        if iei == IEI_CONCAT_8BIT and iedl == 3:
            ref, total, seq = body[0], body[1], body[2]
            if total and 1 <= seq <= total:
                concat = Concat(ref, total, seq, 8)
        elif iei == IEI_CONCAT_16BIT and iedl == 4:
            ref, total, seq = (body[0] << 8) | body[1], body[2], body[3]
            if total and 1 <= seq <= total:
                concat = Concat(ref, total, seq, 16)
        elif iei == IEI_PORTS_8BIT and iedl == 2:
            ports = (body[0], body[1])
        elif iei == IEI_PORTS_16BIT and iedl == 4:
            ports = ((body[0] << 8) | body[1], (body[2] << 8) | body[3])
    return tuple(ies), concat, ports


@dataclass(frozen=True)
class _UserData:
    text: str
    encoding: str
    udh: bytes
    raw: bytes
    ies: tuple[tuple[int, bytes], ...]
    concat: Concat | None
    ports: tuple[int, int] | None


def _decode_user_data(reader: _Reader, dcs: int, udhi: bool) -> _UserData:
    encoding, _ = _dcs_info(dcs)
    udl = reader.octet("user data length")
    if encoding == "gsm7":
        if udl > MAX_SEPTETS:
            raise DecodeError(f"bad user data length: {udl} septets (at most {MAX_SEPTETS})")
        ud = reader.take((7 * udl + 7) // 8, "user data")
    else:
        if udl > MAX_USER_DATA_OCTETS:
            raise DecodeError(f"bad user data length: {udl} octets (at most {MAX_USER_DATA_OCTETS})")
        ud = reader.take(udl, "user data")
    udh = b""
    header_octets = 0
    if udhi:
        if not ud:
            raise DecodeError("bad UDH: header indicated but user data is empty")
        header_octets = ud[0] + 1
        if header_octets > len(ud):
            raise DecodeError(f"bad UDH: length {ud[0]} exceeds the {len(ud)} octets of user data")
        udh = ud[1:header_octets]
    ies, concat, ports = _parse_udh(udh) if udhi else ((), None, None)
    body = ud[header_octets:]
    if encoding == "gsm7":
        fill = (7 - (8 * header_octets) % 7) % 7
        header_septets = (8 * header_octets + fill) // 7
        if header_septets > udl:
            raise DecodeError(f"bad UDH: header takes {header_septets} septets of {udl}")
        septets = gsm7.unpack_septets(body, udl - header_septets, fill)
        return _UserData(gsm7.decode(septets), encoding, udh, septets, ies, concat, ports)
    if encoding == "ucs2":
        # An odd trailing octet (a broken sender) is dropped; a lone surrogate shows U+FFFD.
        text = body[: len(body) & ~1].decode("utf-16-be", errors="replace")
        return _UserData(text, encoding, udh, body, ies, concat, ports)
    text = body.decode("latin-1") if encoding == "8bit" else ""
    return _UserData(text, encoding, udh, body, ies, concat, ports)


def _decode_deliver(reader: _Reader, first: int, smsc: str | None) -> SmsDeliver:
    sender, kind, ton = _decode_address(reader, "originating address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    scts = _decode_timestamp(reader.take(7, "service centre time stamp"), "time stamp")
    ud = _decode_user_data(reader, dcs, bool(first & 0x40))
    return SmsDeliver(
        smsc=smsc,
        sender=sender,
        sender_type=kind,
        text=ud.text,
        encoding=ud.encoding,
        timestamp=scts,
        concat=ud.concat,
        pid=pid,
        dcs=dcs,
        user_data_header=ud.udh,
        raw_user_data=ud.raw,
        message_class=_dcs_info(dcs)[1],
        sender_ton=ton,
        ports=ud.ports,
        status_report_indication=bool(first & 0x20),
        information_elements=ud.ies,
    )


def _decode_submit(reader: _Reader, first: int, smsc: str | None) -> SmsSubmit:
    mr = reader.octet("message reference")
    recipient, kind, _ = _decode_address(reader, "destination address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    vpf = (first >> 3) & 0x03
    validity: timedelta | datetime | None = None
    if vpf == _VPF_RELATIVE:
        validity = relative_validity(reader.octet("validity period"))
    elif vpf == _VPF_ABSOLUTE:
        validity = _decode_timestamp(reader.take(7, "validity period"), "validity period")
    elif vpf == _VPF_ENHANCED:
        validity = _decode_enhanced_validity(reader.take(7, "validity period"))
    ud = _decode_user_data(reader, dcs, bool(first & 0x40))
    return SmsSubmit(
        message_ref=mr,
        recipient=recipient,
        text=ud.text,
        encoding=ud.encoding,
        concat=ud.concat,
        validity=validity,
        status_report=bool(first & 0x20),
        dcs=dcs,
        smsc=smsc,
        recipient_type=kind,
        pid=pid,
        user_data_header=ud.udh,
        raw_user_data=ud.raw,
        reject_duplicates=bool(first & 0x04),
    )


_PI_RESERVED_BITS = 0x78


def _status_report_text(reader: _Reader, first: int) -> str:
    """TS 23.040 9.2.2.3: the optional TP-PI and the fields it announces, after TP-ST.

    Many centres stop at TP-ST and SIM records pad with 0xFF (Gammu tests/at-sms/32.dump): a
    report whose status arrived whole is kept, and junk after it reads as "no text".
    """
    try:
        pi = indicator = reader.octet("parameter indicator")
        if pi & _PI_RESERVED_BITS:
            return ""  # padding, not parameters
        while indicator & 0x80:  # extension octets, none defined yet
            indicator = reader.octet("parameter indicator extension")
        if pi & 0x01:
            reader.octet("protocol identifier")
        dcs = reader.octet("data coding scheme") if pi & 0x02 else 0x00
        if pi & 0x04:
            return _decode_user_data(reader, dcs, bool(first & 0x40)).text
    except DecodeError:
        return ""
    return ""


def _decode_status_report(reader: _Reader, first: int, smsc: str | None) -> SmsStatusReport:
    mr = reader.octet("message reference")
    recipient, kind, _ = _decode_address(reader, "recipient address")
    scts = _decode_timestamp(reader.take(7, "service centre time stamp"), "time stamp")
    dt = _decode_timestamp(reader.take(7, "discharge time"), "discharge time")
    status = reader.octet("status")
    text = _status_report_text(reader, first) if reader.remaining() else ""
    return SmsStatusReport(
        smsc=smsc,
        message_ref=mr,
        recipient=recipient,
        timestamp=scts,
        discharge_time=dt,
        status=status,
        outcome=status_outcome(status),
        recipient_type=kind,
        text=text,
    )


def decode_pdu(data: str | bytes, *, with_smsc: bool = True, direction: Direction = "mt") -> SmsPdu:
    """Decode one PDU (hex text as in ``+CMT``/``+CMGL``/``+CDS``, or bytes).

    ``with_smsc``: the PDU starts with the SMSC part (27.005 PDU mode always has it; ``+CDS``
    on some modems does not). ``direction="mt"`` (network to us): SMS-DELIVER and
    SMS-STATUS-REPORT, plus SMS-SUBMIT because ``AT+CMGL`` lists stored outgoing messages
    (a TP-MTI 01 PDU that only parses as a DELIVER is read as one); the reserved TP-MTI 11 is
    read as SMS-DELIVER (TS 23.040 9.2.3.1). ``direction="mo"``: SMS-SUBMIT only.
    Raises DecodeError naming what was wrong.
    """
    if direction not in ("mt", "mo"):
        raise ValueError(f"direction must be 'mt' or 'mo', got {direction!r}")
    reader = _Reader(_to_bytes(data))
    smsc = _decode_smsc(reader) if with_smsc else None
    if reader.remaining() > MAX_TPDU_OCTETS:
        raise DecodeError(f"PDU too long: TPDU of {reader.remaining()} octets")
    first = reader.octet("first octet")
    mti = first & 0x03
    if direction == "mo":
        if mti != _MTI_SUBMIT:
            raise DecodeError(f"not an SMS-SUBMIT: TP-MTI {mti:02b} in a mobile-originated PDU")
        return _decode_submit(reader, first, smsc)
    if mti in (_MTI_DELIVER, _MTI_RESERVED):
        return _decode_deliver(reader, first, smsc)
    if mti == _MTI_STATUS_REPORT:
        return _decode_status_report(reader, first, smsc)
    # TP-MTI 01 from the modem: a stored SMS-SUBMIT as AT+CMGL lists it. Some phones store a
    # received message with that first octet but a DELIVER layout (Gammu tests/at-sms/01.dump).
    start = reader.pos
    try:
        return _decode_submit(reader, first, smsc)
    except DecodeError as submit_error:
        reader.pos = start
        try:
            return _decode_deliver(reader, first, smsc)
        except DecodeError:
            raise submit_error from None


# ---------------------------------------------------------------------------------------------
# reassembly


def join_parts(parts: Sequence[SmsDeliver | SmsSubmit]) -> str:
    """The text of a concatenated message from its parts (any order, sorted by sequence).

    Joins the raw septets / octets before decoding, so an escape or surrogate pair that a
    careless sender cut in two still comes out whole.
    """
    ordered = sorted(parts, key=lambda p: p.concat.seq if p.concat else 0)
    encodings = {p.encoding for p in ordered}
    if len(encodings) == 1:
        encoding = next(iter(encodings))
        raw = b"".join(p.raw_user_data for p in ordered)
        if encoding == "gsm7":
            return gsm7.decode(raw)
        if encoding == "ucs2":
            return raw[: len(raw) & ~1].decode("utf-16-be", errors="replace")
    return "".join(p.text for p in ordered)
