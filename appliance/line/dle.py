"""V.253 voice-stream framing: DLE shielding, DLE events and the ``+VSM`` sample formats.

In a voice stream a data byte 0x10 (DLE) is sent twice; any other byte after a DLE
is an event (``<DLE>5`` a DTMF digit, ``<DLE>b`` busy, ``<DLE>l`` loop current
dropped, ``<DLE><ETX>`` end of stream; from the host ``<DLE>!`` stops recording,
``<DLE><CAN>`` drops the modem's playback buffer). :class:`Unshielder` is streaming:
a DLE at the end of one chunk pairs with the first byte of the next.
"""

from __future__ import annotations

import re
import sys
from array import array
from dataclasses import dataclass

from appliance.codecs.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

DLE = 0x10
ETX = 0x03
CAN = 0x18
DLE_DLE = b"\x10\x10"
DLE_ETX = b"\x10\x03"
DLE_ABORT = b"\x10!"
DLE_CAN = b"\x10\x18"
ENCODINGS = ("s16le", "ulaw", "alaw", "u8", "s8")


def shield(data: bytes) -> bytes:
    """Double every DLE in audio data."""
    return data.replace(b"\x10", DLE_DLE)


@dataclass(frozen=True)
class Chunk:
    """Unshielded audio bytes, and the events (as characters) that followed them, in order."""

    data: bytes
    events: tuple[str, ...]


class Unshielder:
    """Split a shielded stream into audio bytes and DLE events, across chunk boundaries."""

    def __init__(self) -> None:
        self._pending_dle = False

    def feed(self, raw: bytes) -> list[tuple[str, bytes | str]]:
        """Items in order: ("data", bytes) and ("event", char)."""
        out: list[tuple[str, bytes | str]] = []
        data = bytearray()
        i = 0
        if self._pending_dle and raw:
            self._pending_dle = False
            if raw[0] == DLE:
                data.append(DLE)
            else:
                out.append(("event", chr(raw[0])))
            i = 1
        n = len(raw)
        while i < n:
            j = raw.find(b"\x10", i)
            if j < 0:
                data += raw[i:]
                break
            data += raw[i:j]
            if j + 1 >= n:
                self._pending_dle = True
                break
            nxt = raw[j + 1]
            if nxt == DLE:
                data.append(DLE)
            else:
                if data:
                    out.append(("data", bytes(data)))
                    data = bytearray()
                out.append(("event", chr(nxt)))
            i = j + 2
        if data:
            out.append(("data", bytes(data)))
        return out

    def reset(self) -> None:
        self._pending_dle = False


def bytes_per_sample(encoding: str) -> int:
    return 2 if encoding == "s16le" else 1


def encode(pcm: bytes, encoding: str) -> bytes:
    """16-bit LE linear PCM to a ``+VSM`` format."""
    if encoding == "s16le":
        return pcm
    if encoding == "ulaw":
        return ulaw_encode(pcm)
    if encoding == "alaw":
        return alaw_encode(pcm)
    a = array("h", pcm)
    if sys.byteorder == "big":
        a.byteswap()
    if encoding == "u8":
        return bytes(((x >> 8) + 128) & 0xFF for x in a)
    if encoding == "s8":
        return bytes((x >> 8) & 0xFF for x in a)
    raise ValueError(f"unknown sample format {encoding!r}")


def decode(data: bytes, encoding: str) -> bytes:
    """A ``+VSM`` format to 16-bit LE linear PCM."""
    if encoding == "s16le":
        return data[: len(data) & ~1]
    if encoding == "ulaw":
        return ulaw_decode(data)
    if encoding == "alaw":
        return alaw_decode(data)
    if encoding == "u8":
        a = array("h", ((b - 128) << 8 for b in data))
    elif encoding == "s8":
        a = array("h", (((b ^ 0x80) - 128) << 8 for b in data))
    else:
        raise ValueError(f"unknown sample format {encoding!r}")
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


@dataclass(frozen=True)
class VsmOffer:
    code: int
    name: str
    rates: tuple[int, ...]
    encoding: str  # what we understand it as, or ""


_VSM_LINE = re.compile(r'^\s*(\d+)\s*,\s*"([^"]*)"\s*,?(.*)$')
_NUM = re.compile(r"\d+")


def _encoding_of(name: str, bits: int | None) -> str:
    n = name.upper().replace("-", " ").replace("_", " ")
    if "ADPCM" in n or "14 BIT" in n or "GSM" in n:
        return ""
    if "ULAW" in n.replace(" ", "") or "MU LAW" in n or "G711U" in n.replace(" ", ""):
        return "ulaw"
    if "ALAW" in n.replace(" ", "") or "A LAW" in n or "G711A" in n.replace(" ", ""):
        return "alaw"
    if "16 BIT" in n or bits == 16:
        return "s16le"
    if "UNSIGNED" in n or ("8 BIT LINEAR" in n):
        return "u8"
    if "SIGNED" in n:
        return "s8"
    return ""


def parse_vsm(lines: list[str]) -> list[VsmOffer]:
    """The codecs an ``AT+VSM=?`` answer offers (both chips' layouts)."""
    offers = []
    for line in lines:
        m = _VSM_LINE.match(line)
        if not m:
            continue
        code, name, rest = int(m.group(1)), m.group(2), m.group(3)
        numbers = [int(x) for x in _NUM.findall(rest)]
        rates = tuple(x for x in numbers if 4000 <= x <= 48000)
        bits = numbers[0] if numbers and numbers[0] in (4, 8, 14, 16) and "(" not in rest.split(",")[0] else None
        offers.append(VsmOffer(code, name, rates or (8000,), _encoding_of(name, bits)))
    return offers


PREFERENCE = ("s16le", "ulaw", "alaw", "u8", "s8")


def choose_vsm(offers: list[VsmOffer], rate: int = 8000) -> VsmOffer | None:
    """The best offer at ``rate``: 16-bit linear, then mu-law, A-law, 8-bit linear."""
    usable = [o for o in offers if o.encoding and rate in o.rates]
    usable.sort(key=lambda o: (PREFERENCE.index(o.encoding), o.code < 128))
    return usable[0] if usable else None
