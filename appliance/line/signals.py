"""The audio a telephone line carries, for the simulated lines (``sim``, the V.253 simulator).

Ring cadences and caller-ID timing per standard, DTMF keys, call-progress tones
(from :mod:`appliance.dsp.tone_tables`) and a speech-like voice, all as 16-bit LE
PCM at 8000 Hz built on the project's generators (``dsp/generator.py``,
``dsp/callerid_gen.py``).
"""

from __future__ import annotations

import functools
import math
import random
import sys
from array import array
from datetime import datetime

from appliance.dsp.callerid_gen import build_mdmf, dtmf_cid_string, dtmf_signal, fsk_signal
from appliance.dsp.generator import cadence, dtmf_digits, silence, tone
from appliance.dsp.tone_tables import BUILTIN_TABLES, normalise_country

RATE = 8000
STANDARDS = ("bell202", "v23", "dtmf")
# ring (not ringback) cadences, on/off seconds
RING_CADENCE: dict[str, tuple[float, ...]] = {
    "US": (2.0, 4.0),
    "UK": (0.4, 0.2, 0.4, 2.0),
    "DE": (1.0, 4.0),
    "FI": (1.0, 4.0),
    "SE": (1.0, 5.0),
    "CN": (1.0, 4.0),
}
DEFAULT_RING = (1.0, 4.0)
# caller-ID standard per country (REFERENCE.md "Caller ID on the line")
CID_BY_COUNTRY = {
    **dict.fromkeys(("US", "CA", "CN", "TW", "HK"), "bell202"),
    **dict.fromkeys(("FI", "SE", "DK", "NL", "BE", "BR", "IN", "SA"), "dtmf"),
}
ALERT_TONE = (2130.0, 2750.0)  # ETSI dual-tone alerting signal before V.23 caller ID
ALERT_S = 0.1
CID_LEVEL_DBM0 = -13.0
TONE_LEVEL_DBM0 = -13.0
KEY_ON_S = 0.1
KEY_OFF_S = 0.1


def standard_for(country: str) -> str:
    """The caller-ID standard of a country's lines (V.23 where not listed)."""
    return CID_BY_COUNTRY.get(normalise_country(country), "v23")


def ring_cadence(country: str) -> tuple[float, ...]:
    return RING_CADENCE.get(normalise_country(country), DEFAULT_RING)


def progress_tone(name: str, country: str, seconds: float) -> bytes:
    """``seconds`` of a call-progress tone (dial, ringback, busy, congestion) of ``country``."""
    table = BUILTIN_TABLES.get(normalise_country(country), BUILTIN_TABLES["DE"])
    freqs, pattern = table[name]
    return cadence(freqs, TONE_LEVEL_DBM0, pattern, seconds, RATE)


def progress_cycle(name: str, country: str) -> bytes:
    """One whole period of a tone (a second of it when continuous), to loop."""
    table = BUILTIN_TABLES.get(normalise_country(country), BUILTIN_TABLES["DE"])
    freqs, pattern = table[name]
    period = sum(pattern) if pattern else 1.0
    return cadence(freqs, TONE_LEVEL_DBM0, pattern, period, RATE)


def keys(digits: str, on_s: float = KEY_ON_S, off_s: float = KEY_OFF_S, level_dbm0: float = -8.0) -> bytes:
    """Keypresses as the far end's phone sends them."""
    return dtmf_digits(digits, RATE, on_s * 1000, off_s * 1000, level_dbm0)


def caller_id_audio(
    standard: str,
    number: str | None,
    name: str | None = None,
    *,
    reason: str | None = None,
    when: datetime | None = None,
) -> bytes:
    """The caller-ID signal itself (FSK message or DTMF string, no alert tone)."""
    if standard not in STANDARDS:
        raise ValueError(f"caller-ID standard must be one of {STANDARDS}, got {standard!r}")
    digits = "".join(c for c in (number or "") if c.isdigit()) or None
    if standard == "dtmf":
        return dtmf_signal(dtmf_cid_string(digits, reason=None if digits else (reason or "unavailable")))
    stamp = (when or datetime.now()).strftime("%m%d%H%M")
    absent = None if digits else ("private" if reason == "private" else "unavailable")
    safe_name = name.encode("latin-1", "replace").decode("latin-1")[:60] if name else None
    message = build_mdmf(datetime=stamp, number=digits, number_absent=absent, name=safe_name)
    return fsk_signal(message, modulation=standard, sample_rate=RATE, level_dbm0=CID_LEVEL_DBM0)


def alert_tone() -> bytes:
    return tone(ALERT_TONE, -16.0, ALERT_S, RATE)


@functools.lru_cache(maxsize=4)
def speech(seconds: float = 4.0, seed: int = 1) -> bytes:
    """A speech-like voice: syllables of a gliding glottal pulse through moving formants.

    Not a talker, but it has what the detectors care about: a voiced spectrum with
    harmonics, syllable rhythm and pauses, about -20 dBm0 while voiced.
    """
    rng = random.Random(seed)
    n_total = int(seconds * RATE)
    out = array("h", bytes(2 * n_total))
    vowels = [(730, 1090), (270, 2290), (300, 870), (530, 1840), (640, 1190), (490, 1350)]
    pos = 0
    phase = 0.0
    while pos < n_total:
        syl = int(rng.uniform(0.12, 0.28) * RATE)
        gap = int(rng.uniform(0.04, 0.2) * RATE)
        f1, f2 = rng.choice(vowels)
        f0_start, f0_end = rng.uniform(95, 160), rng.uniform(90, 170)
        # two-pole resonators for the formants
        coeffs = []
        for f, bw in ((f1, 90.0), (f2, 120.0)):
            r = math.exp(-math.pi * bw / RATE)
            coeffs.append((2 * r * math.cos(2 * math.pi * f / RATE), -r * r))
        y = [[0.0, 0.0], [0.0, 0.0]]
        for i in range(min(syl, n_total - pos)):
            f0 = f0_start + (f0_end - f0_start) * i / syl
            phase += f0 / RATE
            pulse = 1.0 if phase >= 1.0 else 0.0
            if phase >= 1.0:
                phase -= 1.0
            excitation = pulse + rng.uniform(-0.02, 0.02)
            total = 0.0
            for k, (a1, a2) in enumerate(coeffs):
                v = excitation + a1 * y[k][0] + a2 * y[k][1]
                y[k][1], y[k][0] = y[k][0], v
                total += v
            env = math.sin(math.pi * i / syl)
            out[pos + i] = max(-32768, min(32767, int(total * env * 220)))
        pos += syl + gap
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def mix(a: bytes, b: bytes, gain_b: float = 1.0) -> bytes:
    """Sum of two equal-length 16-bit LE frames (``b`` scaled), clipped."""
    x = array("h", a)
    y = array("h", b)
    if sys.byteorder == "big":
        x.byteswap()
        y.byteswap()
    n = min(len(x), len(y))
    for i in range(n):
        x[i] = max(-32768, min(32767, x[i] + int(y[i] * gain_b)))
    if sys.byteorder == "big":
        x.byteswap()
    return x.tobytes()


__all__ = [
    "RATE",
    "STANDARDS",
    "alert_tone",
    "caller_id_audio",
    "keys",
    "mix",
    "progress_cycle",
    "progress_tone",
    "ring_cadence",
    "silence",
    "speech",
    "standard_for",
]
