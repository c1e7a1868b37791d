"""DTMF and tone generator (dialing, beeps, test signals) over ``native/tonegen.c``.

Output is 16-bit little-endian mono PCM. Levels are dBm0 per tone (0 dBm0 sine =
peak 32767 * 10^(-3.14/20)), twist is high-group level minus low-group level in dB.
"""

from __future__ import annotations

from collections.abc import Sequence

from appliance._native import ffi, lib

SAMPLE_RATES = (8000, 16000)
MAX_FREQS = 4
ROW_FREQS = (697.0, 770.0, 852.0, 941.0)
COL_FREQS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
DIGITS = "".join(KEYPAD)
DTMF_FREQS: dict[str, tuple[float, float]] = {
    key: (ROW_FREQS[r], COL_FREQS[c]) for r, row in enumerate(KEYPAD) for c, key in enumerate(row)
}


def _check_rate(sample_rate: int) -> None:
    if sample_rate <= 0 or sample_rate > 192000:
        raise ValueError(f"sample rate {sample_rate} Hz is not usable")


def samples_for(duration_s: float, sample_rate: int) -> int:
    """Whole number of samples in ``duration_s`` seconds (rounded)."""
    return max(0, round(duration_s * sample_rate))


def silence(duration_s: float, sample_rate: int) -> bytes:
    """``duration_s`` seconds of digital silence."""
    return bytes(2 * samples_for(duration_s, sample_rate))


def tone(freqs: Sequence[float], levels: Sequence[float] | float, duration: float, sample_rate: int) -> bytes:
    """A sum of up to four sines (``levels`` in dBm0, one per frequency or one for all)."""
    _check_rate(sample_rate)
    if len(freqs) > MAX_FREQS:
        raise ValueError(f"at most {MAX_FREQS} frequencies, got {len(freqs)}")
    one_level = isinstance(levels, (int, float))
    level_list = [float(levels)] * len(freqs) if one_level else [float(v) for v in levels]  # type: ignore[arg-type,union-attr]
    if len(level_list) != len(freqs):
        raise ValueError("one level per frequency (or a single level)")
    for f in freqs:
        if not 0 <= f < sample_rate / 2:
            raise ValueError(f"frequency {f} Hz is outside 0..{sample_rate // 2} Hz")
    state = ffi.new("tonegen_state *")
    f_arr = ffi.new("double[]", [float(f) for f in freqs] or [0.0])
    l_arr = ffi.new("double[]", level_list or [0.0])
    if lib.tonegen_init(state, sample_rate, len(freqs), f_arr, l_arr) != 0:
        raise ValueError("bad tone parameters")
    n = samples_for(duration, sample_rate)
    out = bytearray(2 * n)
    if n:
        lib.tonegen_generate(state, ffi.from_buffer("int16_t[]", out), n)
    return bytes(out)


def dtmf_tone(
    digit: str,
    duration: float,
    sample_rate: int,
    *,
    level_dbm0: float = -10.0,
    twist_db: float = 0.0,
    freq_offset: float = 0.0,
) -> bytes:
    """One DTMF digit; ``freq_offset`` is a relative deviation of both tones (0.015 = +1.5 %)."""
    try:
        low, high = DTMF_FREQS[digit.upper()]
    except KeyError:
        raise ValueError(f"{digit!r} is not a DTMF digit (0-9, *, #, A-D)") from None
    freqs = [low * (1 + freq_offset), high * (1 + freq_offset)]
    return tone(freqs, [level_dbm0, level_dbm0 + twist_db], duration, sample_rate)


def dtmf_digits(
    digits: str,
    sample_rate: int,
    on_ms: float = 70,
    off_ms: float = 70,
    level_dbm0: float = -10,
    twist_db: float = 0,
) -> bytes:
    """A dialled string: each digit ``on_ms`` of tone followed by ``off_ms`` of silence."""
    parts = []
    for d in digits:
        on = dtmf_tone(d, on_ms / 1000, sample_rate, level_dbm0=level_dbm0, twist_db=twist_db)
        parts.append(on)
        parts.append(silence(off_ms / 1000, sample_rate))
    return b"".join(parts)


def cadence(
    freqs: Sequence[float],
    level_dbm0: float,
    pattern: Sequence[float],
    total_s: float,
    sample_rate: int,
) -> bytes:
    """A call-progress tone: ``pattern`` is on/off seconds, repeated (empty: continuous)."""
    if not pattern:
        return tone(freqs, level_dbm0, total_s, sample_rate)
    out = bytearray()
    limit = 2 * samples_for(total_s, sample_rate)
    while len(out) < limit:
        for i, seconds in enumerate(pattern):
            if i % 2 == 0:
                out += tone(freqs, level_dbm0, seconds, sample_rate)
            else:
                out += silence(seconds, sample_rate)
    return bytes(out[:limit])
