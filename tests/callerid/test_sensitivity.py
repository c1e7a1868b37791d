"""Sensitivity sweeps: SNR, level, frequency offset, both rates; and never worse than spandsp.

Noise is white Gaussian over the whole band (SNR = signal RMS over noise RMS), fixed
seeds, so each figure is repeatable. bench/bench_callerid.py prints the full tables.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import spandsp_abi as sp
from cid_signals import add_noise, dbm0_rms, pad

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf

MSG = build_mdmf(number="0401234567", name="ANNA SMITH", datetime="11221530")
TRIALS = 20


@functools.cache
def _clean(modulation: str, rate: int, level: float, offset: float, twist: float,
           phase_seed: int) -> bytes:
    phase = float(np.random.default_rng(phase_seed).uniform(0, 2 * np.pi))
    return pad(fsk_signal(MSG, modulation=modulation, sample_rate=rate, level_dbm0=level,
                          freq_offset_hz=offset, phase=phase, twist_db=twist), rate)


def _signals(modulation: str, rate: int, snr: float, level: float = -13.0,
             offset: float = 0.0, twist: float = 0.0) -> list[bytes]:
    return [add_noise(_clean(modulation, rate, level, offset, twist, seed % 4), snr,
                      dbm0_rms(level), 1000 + seed) for seed in range(TRIALS)]


def _ours(pcm: bytes, rate: int, modulation: str) -> bool:
    return [(m.raw, m.modulation) for m in CallerIdReceiver(rate).feed_messages(pcm)] == [
        (MSG, modulation)]


def _rate(signals: list[bytes], rate: int, modulation: str) -> float:
    return sum(_ours(p, rate, modulation) for p in signals) / len(signals)


# the SNR (dB) at which at least 95 % must decode
FLOOR_SNR = {"bell202": 8.0, "v23": 9.0}


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_snr_floor(rate: int, modulation: str) -> None:
    snr = FLOOR_SNR[modulation]
    assert _rate(_signals(modulation, rate, snr), rate, modulation) >= 0.95


@pytest.mark.parametrize("level", [-5.0, -10.0, -20.0, -30.0, -40.0])
@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_levels_with_noise(level: float, rate: int, modulation: str) -> None:
    assert _rate(_signals(modulation, rate, 15.0, level=level), rate, modulation) == 1.0


@pytest.mark.parametrize("offset", [-24.0, 24.0])  # 2 % of the mark frequency
@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_frequency_offset_with_noise(offset: float, rate: int, modulation: str) -> None:
    signals = _signals(modulation, rate, 12.0, offset=offset)
    assert _rate(signals, rate, modulation) >= 0.95


def _spandsp(pcm: bytes, modulation: str) -> bool:
    standard = sp.ADSI_STANDARD_CLASS if modulation == "bell202" else sp.ADSI_STANDARD_CLIP
    rx = sp.AdsiReceiver(standard)
    try:
        rx.feed(pcm)
        return rx.messages == [MSG[:-1]]
    finally:
        rx.close()


@pytest.mark.skipif(not sp.AVAILABLE, reason="libspandsp not installed")
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
@pytest.mark.parametrize("snr,level,twist", [
    (6.0, -13.0, 0.0), (8.0, -13.0, 0.0), (10.0, -13.0, 0.0), (12.0, -13.0, 0.0),
    (20.0, -5.0, 0.0), (20.0, -30.0, 0.0), (20.0, -40.0, 0.0),
    (20.0, -13.0, -9.0), (12.0, -13.0, -6.0), (10.0, -13.0, 6.0),  # line slope (space vs mark)
])
def test_at_least_as_good_as_spandsp(modulation: str, snr: float, level: float,
                                     twist: float) -> None:
    """spandsp is told the standard; ours runs both demodulators and must name it."""
    signals = _signals(modulation, 8000, snr, level=level, twist=twist)
    ours = sum(_ours(p, 8000, modulation) for p in signals)
    theirs = sum(_spandsp(p, modulation) for p in signals)
    assert ours >= theirs, (ours, theirs)
