"""Test signals for the line DSP: the Q.24-style DTMF matrix and talk-off corpora.

Used by the tests, the benchmarks and the spandsp comparison, so that all of them
judge the same audio. Noise uses NumPy (a test/bench dependency), imported lazily.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.dsp.generator import DIGITS, dtmf_tone, silence

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds")
ASTERISK_MOH = Path("/usr/share/asterisk/moh")
# prompts that are tones, not speech
NOT_SPEECH = ("beep", "tone", "dtmf", "ring", "busy-signal")
LEAD_S = 0.2
GAP_S = 0.1
TONE_S = 0.06


@dataclass(frozen=True)
class Case:
    """One row of the matrix: ``must`` is "detect", "reject" or "may" (reported only)."""

    group: str
    label: str
    must: str
    digits: str
    pcm: bytes
    sample_rate: int


def _noise(n: int, rms: float, seed: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * rms).astype("<f8").tobytes()


def add_noise(pcm: bytes, snr_db: float, signal_rms: float, seed: int) -> bytes:
    """White Gaussian noise ``snr_db`` below ``signal_rms`` added to ``pcm`` (clipped to 16 bits)."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    noise = np.frombuffer(_noise(len(x), signal_rms * 10 ** (-snr_db / 20), seed), "<f8")
    return np.clip(np.round(x + noise), -32768, 32767).astype("<i2").tobytes()


def dbm0_rms(level_dbm0: float) -> float:
    """RMS of a sine at ``level_dbm0`` (peak 32767 * 10^((L-3.14)/20))."""
    return 32767 * 10 ** ((level_dbm0 - 3.14) / 20) / 2**0.5


def sequence(
    digits: str,
    rate: int,
    *,
    on_s: float = TONE_S,
    off_s: float = GAP_S,
    level: float = -10.0,
    twist: float = 0.0,
    dev: float = 0.0,
    dev_low: float | None = None,
    dev_high: float | None = None,
) -> bytes:
    """Digits with the given timing and signal conditions, framed by silence."""
    parts = [silence(LEAD_S, rate)]
    lo = dev if dev_low is None else dev_low
    hi = dev if dev_high is None else dev_high
    for d in digits:
        if lo == hi:
            parts.append(dtmf_tone(d, on_s, rate, level_dbm0=level, twist_db=twist, freq_offset=lo))
        else:
            from appliance.dsp.generator import DTMF_FREQS, tone

            f1, f2 = DTMF_FREQS[d]
            parts.append(tone([f1 * (1 + lo), f2 * (1 + hi)], [level, level + twist], on_s, rate))
        parts.append(silence(off_s, rate))
    parts.append(silence(LEAD_S, rate))
    return b"".join(parts)


def _band(value: float, must_within: float, reject_beyond: float) -> str:
    if abs(value) <= must_within + 1e-9:
        return "detect"
    if abs(value) >= reject_beyond - 1e-9:
        return "reject"
    return "may"


def q24_matrix(rate: int = 8000, *, quick: bool = False) -> Iterator[Case]:
    """The Q.24 / ES 201 235-3 receiver conditions, each over all 16 digits."""
    digits = DIGITS
    devs = (
        [-5.0, -3.5, -1.5, 0.0, 1.5, 3.5, 5.0]
        if quick
        else [-6.0, -5.0, -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0]
    )
    for dev in devs:
        must = _band(dev, 1.5, 3.5)
        yield Case("frequency", f"both {dev:+.1f}%", must, digits, sequence(digits, rate, dev=dev / 100), rate)
        yield Case(
            "frequency", f"low {dev:+.1f}%", must, digits, sequence(digits, rate, dev_low=dev / 100, dev_high=0.0), rate
        )
        yield Case(
            "frequency",
            f"high {dev:+.1f}%",
            must,
            digits,
            sequence(digits, rate, dev_low=0.0, dev_high=dev / 100),
            rate,
        )
    for twist in (
        [-12.0, -8.0, 0.0, 4.0, 8.0]
        if quick
        else [-14.0, -12.0, -10.0, -8.0, -6.0, -4.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    ):
        must = "detect" if -8 <= twist <= 4 else "may"
        # levels chosen so that the louder tone stays at -10 dBm0
        level = -10.0 - max(0.0, twist)
        yield Case("twist", f"{twist:+.0f} dB", must, digits, sequence(digits, rate, level=level, twist=twist), rate)
    for level in (
        [0.0, -25.0, -35.0, -55.0]
        if quick
        else [3.0, 0.0, -5.0, -10.0, -15.0, -20.0, -25.0, -30.0, -35.0, -40.0, -45.0, -50.0, -55.0, -60.0]
    ):
        must = "detect" if -25 <= level <= 0 else ("reject" if level <= -55 else "may")
        yield Case("level", f"{level:+.0f} dBm0", must, digits, sequence(digits, rate, level=level), rate)
    for on_ms in [20, 40] if quick else [10, 15, 20, 23, 25, 28, 30, 35, 40, 45, 50]:
        must = "detect" if on_ms >= 40 else ("reject" if on_ms <= 23 else "may")
        yield Case("duration", f"{on_ms} ms on", must, digits, sequence(digits, rate, on_s=on_ms / 1000), rate)
    for on_ms, off_ms in [(40, 40)] if quick else [(40, 40), (45, 45), (50, 50), (60, 40)]:
        yield Case(
            "speed",
            f"{on_ms}/{off_ms} ms",
            "detect",
            digits * 2,
            sequence(digits * 2, rate, on_s=on_ms / 1000, off_s=off_ms / 1000),
            rate,
        )
        for d in ("5", "D", "1"):
            yield Case(
                "repeat",
                f"{d}x8 {on_ms}/{off_ms} ms",
                "detect",
                d * 8,
                sequence(d * 8, rate, on_s=on_ms / 1000, off_s=off_ms / 1000),
                rate,
            )
    for gap_ms in [10] if quick else [5, 10, 15, 20]:
        # one digit broken by a short interruption: must stay one digit
        pcm = silence(LEAD_S, rate)
        for d in digits:
            pcm += dtmf_tone(d, 0.06, rate) + silence(gap_ms / 1000, rate) + dtmf_tone(d, 0.06, rate)
            pcm += silence(GAP_S, rate)
        must = "detect" if gap_ms <= 15 else "may"
        yield Case("interruption", f"{gap_ms} ms break", must, digits, pcm, rate)
    for level in (-10.0, -25.0):
        for snr in [15.0] if quick else [20.0, 15.0, 12.0, 10.0, 6.0]:
            clean = sequence(digits * 2, rate, level=level)
            seed = int(1000 * -level + snr)
            pcm = add_noise(clean, snr, dbm0_rms(level) * 2**0.5, seed)
            must = "detect" if snr >= 15 else "may"
            yield Case("noise", f"{level:+.0f} dBm0 SNR {snr:.0f} dB", must, digits * 2, pcm, rate)


def score(expected: str, got: str) -> tuple[int, int]:
    """(digits found in order, extra digits) by longest common subsequence."""
    m, n = len(expected), len(got)
    prev = [0] * (n + 1)
    for i in range(m):
        cur = [0] * (n + 1)
        for j in range(n):
            cur[j + 1] = prev[j] + 1 if expected[i] == got[j] else max(prev[j + 1], cur[j])
        prev = cur
    return prev[n], n - prev[n]


def speech_files(languages: tuple[str, ...] | None = None) -> list[Path]:
    """The recorded IVR prompts of Debian's asterisk-core-sounds-*-wav (real human speech)."""
    if not ASTERISK_SOUNDS.is_dir():
        return []
    out = []
    for voice in sorted(ASTERISK_SOUNDS.iterdir()):
        if voice.is_symlink() or not voice.is_dir() or voice.name.count("_") < 3:
            continue
        if languages and voice.name[:2] not in languages:
            continue
        for p in sorted(voice.rglob("*.wav")):
            if not any(word in p.name for word in NOT_SPEECH):
                out.append(p)
    return out


def music_files() -> list[Path]:
    """Debian's asterisk-moh-opsound-wav music on hold (real music, 8 kHz)."""
    return sorted(ASTERISK_MOH.glob("*.wav")) if ASTERISK_MOH.is_dir() else []


def espeak_speech(text: str, rate: int = 8000, voice: str = "en", pitch: str = "50") -> bytes:
    """Synthetic speech from espeak-ng (installed on the machine), resampled to ``rate``."""
    import subprocess

    import numpy as np

    cmd = ["espeak-ng", "-v", voice, "-p", pitch, "-s", "160", "--stdout", text]
    raw = subprocess.run(cmd, capture_output=True, check=True, timeout=300).stdout
    # espeak-ng writes a WAV at 22050 Hz
    data = raw[raw.find(b"data") + 8 :]
    x = np.frombuffer(data[: len(data) & ~1], "<i2").astype(np.float64)
    t_out = np.arange(int(len(x) * rate / 22050)) * (22050 / rate)
    y = np.interp(t_out, np.arange(len(x)), _lowpass(x, rate / 2 / 22050 * 0.9))
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def _lowpass(x: Any, cutoff: float) -> Any:
    import numpy as np

    taps = 63
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return np.convolve(x, h / h.sum(), mode="same")


def synthetic_music(seconds: float, rate: int = 8000, seed: int = 7) -> bytes:
    """Chords and melodies with harmonics, vibrato and envelopes (a supplement to real music)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    t_note = 0
    while t_note < len(out):
        dur = int(rate * rng.choice([0.125, 0.25, 0.5, 1.0]))
        notes = rng.integers(40, 80, size=rng.integers(1, 4))  # MIDI: 82 Hz to 830 Hz
        t = np.arange(min(dur, len(out) - t_note)) / rate
        env = np.minimum(1, t / 0.01) * np.exp(-t * rng.uniform(0.5, 4))
        for note in notes:
            f0 = 440 * 2 ** ((note - 69) / 12)
            vib = 1 + 0.004 * np.sin(2 * np.pi * 5 * t)
            for h in range(1, 8):
                if f0 * h < rate / 2:
                    out[t_note : t_note + len(t)] += (0.6**h) * np.sin(2 * np.pi * f0 * h * vib * t) * env
        t_note += dur
    out *= 8000 / max(1e-9, np.abs(out).max())
    return out.astype("<i2").tobytes()


def cpu_count() -> int:
    return os.cpu_count() or 1


def gain(pcm: bytes, db: float) -> bytes:
    """``pcm`` amplified by ``db`` (clipping at full scale, as a hot line does)."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64) * 10 ** (db / 20)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def pitch_shift(pcm: bytes, factor: float) -> bytes:
    """Played ``factor`` times faster (pitch and formants move by ``factor``)."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    if factor > 1:
        x = np.asarray(_lowpass(x, 0.5 / factor * 0.95))
    t = np.arange(0, len(x) - 1, factor)
    y = np.interp(t, np.arange(len(x)), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def talkoff_variants(pcm: bytes) -> Iterator[tuple[str, bytes]]:
    """The recording as it is, hot (+12 dB, clipped), and pitched up and down."""
    yield "as recorded", pcm
    yield "+12 dB clipped", gain(pcm, 12)
    yield "pitch x1.15", pitch_shift(pcm, 1.15)
    yield "pitch x0.87", pitch_shift(pcm, 0.87)


ESPEAK_VOICES = (
    "en",
    "en+f2",
    "en+f4",
    "en+m1",
    "en+m4",
    "en-us",
    "en-us+f3",
    "fi",
    "fi+f2",
    "sv",
    "sv+f3",
    "de",
    "de+f2",
    "fr",
    "es",
    "it",
    "zh",
    "ru",
)
ESPEAK_PITCHES = ("20", "50", "80", "99")
CACHE_DIR = Path(os.environ.get("APPLIANCE_DSP_CACHE", "/tmp/appliance-dsp-corpus"))


def _cat_wavs(files: list[Path], max_seconds: float | None) -> bytes:
    from appliance.dsp.wav import read_pcm

    parts: list[bytes] = []
    total = 0
    limit = None if max_seconds is None else int(max_seconds * 8000) * 2
    for p in files:
        pcm, rate = read_pcm(p)
        if rate != 8000:
            continue
        parts.append(pcm)
        total += len(pcm)
        if limit is not None and total >= limit:
            break
    out = b"".join(parts)
    return out if limit is None else out[:limit]


def real_speech(max_seconds: float | None = None) -> bytes:
    """Recorded human speech at 8 kHz (asterisk-core-sounds-*-wav), empty when not installed."""
    return _cat_wavs(speech_files(), max_seconds)


def real_music(max_seconds: float | None = None) -> bytes:
    """Recorded music on hold at 8 kHz (asterisk-moh-opsound-wav), empty when not installed."""
    return _cat_wavs(music_files(), max_seconds)


def espeak_corpus(
    text: str,
    voices: tuple[str, ...] = ESPEAK_VOICES,
    pitches: tuple[str, ...] = ESPEAK_PITCHES,
    words_per_take: int = 450,
) -> bytes:
    """Synthetic speech: ``text`` read in turns by every voice at every pitch (cached on disk)."""
    import hashlib

    key = hashlib.sha256(repr((text, voices, pitches, words_per_take)).encode()).hexdigest()[:16]
    cached = CACHE_DIR / f"espeak-{key}.raw"
    if cached.exists():
        return cached.read_bytes()
    words = text.split()
    parts = []
    i = 0
    for voice in voices:
        for pitch in pitches:
            take = " ".join(words[i : i + words_per_take]) or "nothing to say"
            i = (i + words_per_take) % max(1, len(words) - words_per_take)
            parts.append(espeak_speech(take, 8000, voice, pitch))
    pcm = b"".join(parts)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pcm)
    return pcm
