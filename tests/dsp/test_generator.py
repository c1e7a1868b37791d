"""The DTMF/tone generator: frequencies, levels, lengths, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.dsp.generator import DIGITS, DTMF_FREQS, cadence, dtmf_digits, dtmf_tone, silence, tone


def _spectrum_peaks(pcm: bytes, rate: int, count: int) -> list[float]:
    x = np.frombuffer(pcm, "<i2").astype(float)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    peaks: list[float] = []
    for _ in range(count):
        i = int(np.argmax(spec))
        peaks.append(float(freqs[i]))
        spec[max(0, i - 20) : i + 20] = 0
    return sorted(peaks)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("digit", list(DIGITS))
def test_dtmf_digit_has_its_two_frequencies(digit: str, rate: int) -> None:
    pcm = dtmf_tone(digit, 0.5, rate)
    assert len(pcm) == 2 * rate // 2
    low, high = _spectrum_peaks(pcm, rate, 2)
    assert low == pytest.approx(DTMF_FREQS[digit][0], abs=3)
    assert high == pytest.approx(DTMF_FREQS[digit][1], abs=3)


def test_level_is_dbm0_per_tone() -> None:
    x = np.frombuffer(tone([1000.0], [0.0], 1.0, 8000), "<i2").astype(float)
    # 0 dBm0 sine: peak 32767 * 10^(-3.14/20)
    assert np.abs(x).max() == pytest.approx(32767 * 10 ** (-3.14 / 20), rel=0.002)
    y = np.frombuffer(tone([1000.0], [-20.0], 1.0, 8000), "<i2").astype(float)
    assert 20 * np.log10(np.sqrt((y**2).mean()) / np.sqrt((x**2).mean())) == pytest.approx(-20, abs=0.05)


def test_twist_sets_high_group_level() -> None:
    x = np.frombuffer(dtmf_tone("1", 1.0, 8000, level_dbm0=-10, twist_db=-6), "<i2").astype(float)
    spec = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    low = spec[np.argmin(np.abs(freqs - 697))]
    high = spec[np.argmin(np.abs(freqs - 1209))]
    assert 20 * np.log10(high / low) == pytest.approx(-6, abs=0.1)


def test_dtmf_digits_timing_and_length() -> None:
    pcm = dtmf_digits("123", 8000, on_ms=50, off_ms=30)
    assert len(pcm) == 2 * 3 * (400 + 240)
    x = np.frombuffer(pcm, "<i2")
    assert not x[400:640].any() and x[:400].any()


def test_cadence_repeats_on_off() -> None:
    pcm = cadence([425.0], -10, [0.5, 0.5], 2.0, 8000)
    x = np.frombuffer(pcm, "<i2")
    assert len(x) == 16000
    assert x[:4000].any() and not x[4000:8000].any() and x[8000:12000].any()
    assert len(cadence([425.0], -10, [], 1.0, 8000)) == 16000


def test_refusals() -> None:
    with pytest.raises(ValueError, match="DTMF digit"):
        dtmf_tone("X", 0.1, 8000)
    with pytest.raises(ValueError, match="at most 4"):
        tone([100.0] * 5, -10, 0.1, 8000)
    with pytest.raises(ValueError, match="outside"):
        tone([4500.0], -10, 0.1, 8000)
    with pytest.raises(ValueError, match="one level per frequency"):
        tone([100.0, 200.0], [-10.0], 0.1, 8000)
    assert silence(0.0, 8000) == b""


def test_loud_tones_clip_instead_of_wrapping() -> None:
    x = np.frombuffer(tone([1000.0, 1100.0], [6.0, 6.0], 0.1, 8000), "<i2")
    assert x.max() == 32767 and x.min() == -32768
