"""Caller-ID generator: the signal a telephone exchange sends before (or between) rings.

Used by the line simulator and the tests. FSK caller ID is Bell 202 (mark 1200 Hz,
space 2200 Hz) or V.23 (mark 1300 Hz, space 2100 Hz) at 1200 baud: a channel seizure of
alternating bits, a run of mark bits, then the message as asynchronous characters (one
start bit, eight data bits LSB first, one stop bit). The tone is phase-continuous.
DTMF caller ID (``A<number>C`` and its variants) uses the DTMF generator.

Japanese caller ID (JCLIP, :func:`jclip_signal`) is V.23 with no seizure: a mark run,
then the packet of :func:`~appliance.dsp.cid_message.build_jclip` (its bytes carry their
own parity bit), each character followed by stop bits (spandsp sends four).

Example::

    msg = build_mdmf(number="0401234567", name="ANNA", datetime="11221530")
    pcm = fsk_signal(msg, modulation="v23", sample_rate=8000, level_dbm0=-13)
"""

from __future__ import annotations

import math
import sys
from array import array

from appliance.dsp.cid_message import build_jclip, build_mdmf, build_sdmf

BAUD = 1200.0
MODULATIONS: dict[str, tuple[float, float]] = {
    "bell202": (1200.0, 2200.0),  # (mark, space)
    "v23": (1300.0, 2100.0),
}
SEIZURE_BITS = 300
MARK_BITS = 180
TRAILING_MARK_BITS = 2  # GR-30: the checksum is followed by at least two mark bits
JCLIP_MARK_BITS = 75  # spandsp's adsi_tx defaults for JCLIP
JCLIP_STOP_BITS = 4
JCLIP_TRAILING_MARK_BITS = 5
DBM0_MAX_SINE = 3.14  # a full-scale sine is +3.14 dBm0 (G.711)
DTMF_CID_ON_MS = 70.0
DTMF_CID_OFF_MS = 70.0

__all__ = [
    "MODULATIONS",
    "build_jclip",
    "build_mdmf",
    "build_sdmf",
    "dbm0_to_peak",
    "dtmf_cid_string",
    "dtmf_signal",
    "fsk_bits",
    "fsk_signal",
    "jclip_signal",
]


def dbm0_to_peak(level_dbm0: float) -> float:
    """Peak amplitude (16-bit scale) of a sine at ``level_dbm0``."""
    return 32767.0 * 10.0 ** ((level_dbm0 - DBM0_MAX_SINE) / 20.0)


def fsk_bits(
    message: bytes,
    *,
    seizure_bits: int = SEIZURE_BITS,
    mark_bits: int = MARK_BITS,
    trailing_mark_bits: int = TRAILING_MARK_BITS,
    stop_bits: int = 1,
) -> list[int]:
    """The bit sequence on the line: seizure (0101...), marks, framed characters, marks."""
    bits = [i & 1 for i in range(seizure_bits)]
    bits += [1] * mark_bits
    for byte in message:
        bits.append(0)
        bits += [(byte >> i) & 1 for i in range(8)]
        bits += [1] * stop_bits
    bits += [1] * trailing_mark_bits
    return bits


def fsk_signal(
    message: bytes,
    *,
    modulation: str = "bell202",
    sample_rate: int = 8000,
    level_dbm0: float = -13.0,
    seizure_bits: int = SEIZURE_BITS,
    mark_bits: int = MARK_BITS,
    trailing_mark_bits: int = TRAILING_MARK_BITS,
    freq_offset_hz: float = 0.0,
    baud: float = BAUD,
    phase: float = 0.0,
    twist_db: float = 0.0,
    stop_bits: int = 1,
) -> bytes:
    """16-bit LE PCM of one FSK caller-ID transmission (seizure, marks, message).

    ``twist_db`` is the space tone's level relative to the mark's (a real line loses
    more at 2200 Hz than at 1200 Hz: negative values); ``level_dbm0`` is the mark's.
    """
    try:
        mark, space = MODULATIONS[modulation]
    except KeyError:
        raise ValueError(f"modulation must be one of {sorted(MODULATIONS)}, got {modulation!r}") from None
    if sample_rate <= 0:
        raise ValueError(f"sample rate {sample_rate} is not usable")
    bits = fsk_bits(message, seizure_bits=seizure_bits, mark_bits=mark_bits,
                    trailing_mark_bits=trailing_mark_bits, stop_bits=stop_bits)
    peak = {1: dbm0_to_peak(level_dbm0), 0: dbm0_to_peak(level_dbm0 + twist_db)}
    step = {
        1: 2.0 * math.pi * (mark + freq_offset_hz) / sample_rate,
        0: 2.0 * math.pi * (space + freq_offset_hz) / sample_rate,
    }
    total = round(len(bits) * sample_rate / baud)
    out = array("h", bytes(2 * total))
    samples_per_bit = sample_rate / baud
    for i in range(total):
        bit = bits[min(int(i / samples_per_bit), len(bits) - 1)]
        out[i] = max(-32768, min(32767, round(peak[bit] * math.sin(phase))))
        phase += step[bit]
        if phase > 2.0 * math.pi:
            phase -= 2.0 * math.pi
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def jclip_signal(
    packet: bytes,
    *,
    sample_rate: int = 8000,
    level_dbm0: float = -13.0,
    mark_bits: int = JCLIP_MARK_BITS,
    stop_bits: int = JCLIP_STOP_BITS,
    **kwargs: float,
) -> bytes:
    """16-bit LE PCM of a Japanese caller-ID transmission (V.23, no seizure) of a
    :func:`build_jclip` packet; other keywords as :func:`fsk_signal`."""
    return fsk_signal(packet, modulation="v23", sample_rate=sample_rate, level_dbm0=level_dbm0,
                      seizure_bits=0, mark_bits=mark_bits, stop_bits=stop_bits,
                      trailing_mark_bits=JCLIP_TRAILING_MARK_BITS, **kwargs)


def dtmf_cid_string(
    number: str | None = None,
    *,
    reason: str | None = None,
    form: str = "A_C",
    redirect: str | None = None,
) -> str:
    """The digit string of a DTMF caller ID.

    ``form``: ``A_C`` (``A<number>C``; with ``redirect`` ``A<number>D<redirect>C``; with a
    reason ``B00C``/``B10C``), ``A_#`` (``A<number>#``; reason ``D1#``/``D3#``),
    ``D_C`` (``D<number>C``, Taiwan), ``_#`` (``<number>#``, no start digit).
    """
    if number is not None and not number.isdigit():
        raise ValueError(f"a DTMF caller-ID number is digits only, got {number!r}")
    if form == "A_C":
        if number:
            return f"A{number}" + (f"D{redirect}" if redirect else "") + "C"
        return "B" + {"private": "10", "unavailable": "00"}[reason or "unavailable"] + "C"
    if form == "A_#":
        if number:
            return f"A{number}#"
        return "D" + {"private": "1", "unavailable": "3"}[reason or "unavailable"] + "#"
    if form == "D_C" and number:
        return f"D{number}C"
    if form == "_#" and number:
        return f"{number}#"
    raise ValueError(f"DTMF caller-ID form {form!r} cannot carry number={number!r} reason={reason!r}")


def dtmf_signal(
    digits: str,
    *,
    sample_rate: int = 8000,
    on_ms: float = DTMF_CID_ON_MS,
    off_ms: float = DTMF_CID_OFF_MS,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
) -> bytes:
    """16-bit LE PCM of a DTMF caller-ID digit string."""
    from appliance.dsp.generator import dtmf_digits

    return dtmf_digits(digits, sample_rate, on_ms, off_ms, level_dbm0, twist_db)
