"""GSM 7-bit default alphabet and extension table (3GPP TS 23.038 6.2.1); septet packing.

Pure functions. A *septet* here is an int 0..127 held in one byte of a ``bytes`` object;
``pack_septets`` / ``unpack_septets`` turn septets into the packed octets of TS 23.038 6.1.2.1
(first septet in the low bits of the first octet), with optional leading fill bits, which
TS 23.040 9.2.3.24 puts after a user data header so that the text starts on a septet boundary.
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.errors import DecodeError

ESCAPE = 0x1B

# TS 23.038 6.2.1, the default alphabet in code order. 0x1B is the escape to the extension table
# (shown here as a non-breaking space, which is never looked up).
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\xa0ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(DEFAULT_ALPHABET) == 128

# TS 23.038 6.2.1.1, the default alphabet extension table: ESC followed by these codes.
EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_CHAR_TO_SEPTETS: dict[str, bytes] = {ch: bytes([code]) for code, ch in enumerate(DEFAULT_ALPHABET) if code != ESCAPE}
_CHAR_TO_SEPTETS.update({ch: bytes([ESCAPE, code]) for code, ch in EXTENSION_TABLE.items()})

MAX_SEPTETS = 160  # TS 23.040 9.2.3.16: 140 octets of user data


_GSM7_CHARS = frozenset(_CHAR_TO_SEPTETS)
_SEPTET_COST: dict[str, int] = {ch: len(code) for ch, code in _CHAR_TO_SEPTETS.items()}
# str.translate tables (C speed): text -> septets spelled as chars U+0000..U+007F, and back.
# Every ASCII char outside the alphabet maps to U+FFFF so that it cannot pass through as itself.
_UNENCODABLE = "\uffff"
_ENCODE_TABLE: dict[int, str] = {cp: _UNENCODABLE for cp in range(128)}
_ENCODE_TABLE.update({ord(ch): code.decode("latin-1") for ch, code in _CHAR_TO_SEPTETS.items()})
_DECODE_TABLE: dict[int, str] = dict(enumerate(DEFAULT_ALPHABET))


def char_septets(ch: str) -> int | None:
    """How many septets ``ch`` costs (1, or 2 for an escape pair); None if not in the alphabet."""
    return _SEPTET_COST.get(ch)


def septet_costs(text: str) -> list[int]:
    """Septets of each character of ``text``. Raises ValueError if one is not GSM-7."""
    try:
        return [_SEPTET_COST[ch] for ch in text]
    except KeyError as err:
        raise ValueError(f"character {err.args[0]!r} is not in the GSM 7-bit alphabet") from None


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the default alphabet or its extension."""
    return _GSM7_CHARS.issuperset(text)


def septet_length(text: str) -> int:
    """Septets needed for ``text`` (escape pairs count 2). Raises ValueError if not GSM-7."""
    return len(encode(text))


def encode(text: str) -> bytes:
    """``text`` -> septets (one per byte). Raises ValueError naming the first unencodable char."""
    spelled = text.translate(_ENCODE_TABLE)
    try:
        return spelled.encode("ascii")
    except UnicodeEncodeError as err:
        bad = next(ch for ch in text if ch not in _GSM7_CHARS)
        raise ValueError(f"character {bad!r} is not in the GSM 7-bit alphabet") from err


def decode(septets: bytes | bytearray | Iterable[int]) -> str:
    """Septets (values 0..127; the high bit is ignored) -> text.

    TS 23.038 6.2.1.1: an escape followed by a code the extension table lacks shows the
    default-table character; ESC ESC (a reserved further extension) and a lone trailing
    ESC show a space.
    """
    raw = bytes(septets) if not isinstance(septets, bytes) else septets
    if max(raw, default=0) > 0x7F:
        raw = bytes(b & 0x7F for b in raw)
    if ESCAPE not in raw:
        return raw.decode("ascii").translate(_DECODE_TABLE)
    out: list[str] = []
    pos, end = 0, len(raw)
    while pos < end:
        esc = raw.find(ESCAPE, pos)
        if esc < 0:
            out.append(raw[pos:].decode("ascii").translate(_DECODE_TABLE))
            break
        out.append(raw[pos:esc].decode("ascii").translate(_DECODE_TABLE))
        if esc + 1 >= end:
            out.append(" ")
            break
        code = raw[esc + 1]
        out.append(" " if code == ESCAPE else EXTENSION_TABLE.get(code, DEFAULT_ALPHABET[code]))
        pos = esc + 2
    return "".join(out)


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets into octets, after ``fill_bits`` zero bits (0..6)."""
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill bits must be 0..6, got {fill_bits}")
    nbits = fill_bits + 7 * len(septets)
    value = 0
    shift = fill_bits
    for septet in septets:
        value |= (septet & 0x7F) << shift
        shift += 7
    return value.to_bytes((nbits + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Unpack ``count`` septets from ``data`` after ``fill_bits`` bits.

    Raises DecodeError if ``data`` is too short for them.
    """
    needed = (fill_bits + 7 * count + 7) // 8
    if len(data) < needed:
        raise DecodeError(f"GSM 7-bit user data truncated: {count} septets need {needed} octets, got {len(data)}")
    value = int.from_bytes(data[:needed], "little") >> fill_bits
    return bytes([(value >> shift) & 0x7F for shift in range(0, 7 * count, 7)])
