"""Hostile audio never crashes the receiver and does not make up caller IDs."""

from __future__ import annotations

import numpy as np
import pytest
from cid_signals import pad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf

MSG = build_mdmf(number="0401234567", name="ANNA", datetime="11221530")


def _pcm(x: np.ndarray) -> bytes:
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("rate", [8000, 16000])
def test_noise_makes_no_caller_id(rate: int) -> None:
    rng = np.random.default_rng(11)
    rx = CallerIdReceiver(rate)
    for level in (30.0, 300.0, 3000.0, 20000.0):
        assert rx.feed(_pcm(rng.normal(0, level, 20 * rate))) == []


@pytest.mark.parametrize("rate", [8000, 16000])
def test_fsk_like_garbage_makes_no_caller_id(rate: int) -> None:
    """Random bits through the modulator: real FSK, no valid message."""
    rng = np.random.default_rng(12)
    rx = CallerIdReceiver(rate)
    events = []
    for modulation in ("bell202", "v23"):
        for _ in range(6):
            junk = bytes(rng.integers(0, 256, 200, dtype=np.uint8))
            events += rx.feed(fsk_signal(junk, modulation=modulation, sample_rate=rate,
                                         seizure_bits=0, mark_bits=12))
    # a random byte string can pass (type, length, checksum); it must at least parse
    assert all(e["type"] == "caller_id" for e in events)
    assert len(events) <= 1


@pytest.mark.parametrize("rate", [8000, 16000])
def test_extreme_waveforms(rate: int) -> None:
    n = 2 * rate
    t = np.arange(n)
    cases = {
        "full-scale square": np.where((t // 3) % 2, 32767, -32768),
        "alternating extremes": np.where(t % 2, 32767, -32768),
        "dc step": np.where(t > n // 2, 32767, -32768),
        "impulses": np.where(t % 997 == 0, 32767, 0),
        "silence": np.zeros(n),
        "clipped fsk": np.frombuffer(fsk_signal(MSG, sample_rate=rate, level_dbm0=20.0), "<i2"),
        "ring 20 Hz": 30000 * np.sin(2 * np.pi * 20 * t / rate),
    }
    for name, x in cases.items():
        rx = CallerIdReceiver(rate)
        events = rx.feed(_pcm(np.asarray(x, dtype=float)))
        assert isinstance(events, list), name


def test_clipped_signal_still_decodes() -> None:
    pcm = fsk_signal(MSG, modulation="v23", level_dbm0=10.0)  # +10 dBm0: hard clipping
    assert [e["number"] for e in CallerIdReceiver(8000).feed(pad(pcm, 8000))] == ["0401234567"]


def test_dc_offset_does_not_matter() -> None:
    x = np.frombuffer(pad(fsk_signal(MSG, modulation="bell202", level_dbm0=-40.0), 8000), "<i2")
    for offset in (-8000, 8000):
        pcm = _pcm(x.astype(float) + offset)
        assert [e["number"] for e in CallerIdReceiver(8000).feed(pcm)] == ["0401234567"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=20000), chunk=st.integers(1, 5000))
def test_arbitrary_bytes_never_crash(data: bytes, chunk: int) -> None:
    rx = CallerIdReceiver(8000)
    for i in range(0, len(data), chunk):
        for event in rx.feed(data[i : i + chunk]):
            assert event["type"] == "caller_id"
    assert rx.flush() == []
