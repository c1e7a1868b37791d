"""Hostile audio never crashes, never hangs, never invents events without end; buffers are bounded."""

from __future__ import annotations

import numpy as np
import pytest
from appliance._native import ffi, lib
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.dsp.chain import LineDsp
from appliance.dsp.dtmf import MAX_SAMPLES_PER_CALL, DtmfReceiver
from appliance.dsp.generator import dtmf_digits, tone
from appliance.dsp.tones import ToneDetector

RATE = 8000


def _signals() -> dict[str, bytes]:
    n = RATE * 3
    rng = np.random.default_rng(1)
    t = np.arange(n) / RATE
    sweep = 20000 * np.sin(2 * np.pi * (100 + 600 * t) * t)
    return {
        "silence": bytes(2 * n),
        "white noise full scale": rng.integers(-32768, 32767, n).astype("<i2").tobytes(),
        "clipped square": np.where((np.arange(n) // 9) % 2, 32767, -32768).astype("<i2").tobytes(),
        "DC +max": np.full(n, 32767, "<i2").tobytes(),
        "DC -max": np.full(n, -32768, "<i2").tobytes(),
        "sweep": sweep.astype("<i2").tobytes(),
        "clipped DTMF": np.clip(
            np.frombuffer(dtmf_digits("159", RATE, level_dbm0=3), "<i2").astype(int) * 4, -32768, 32767
        )
        .astype("<i2")
        .tobytes(),
        "alternating extremes": np.tile(np.array([32767, -32768], "<i2"), n // 2).tobytes(),
    }


@pytest.mark.parametrize("name", list(_signals()))
@pytest.mark.parametrize("rate", [8000, 16000])
def test_hostile_audio(name: str, rate: int) -> None:
    pcm = _signals()[name]
    for chunk in (1, 3, 160, 4001, len(pcm)):
        dsp = LineDsp(rate)
        events = []
        for off in range(0, min(len(pcm), 40000 if chunk < 100 else len(pcm)), chunk):
            events += dsp.feed(pcm[off : off + chunk])
        events += dsp.flush()
        for e in events:
            assert 0 <= e["start"] <= e["end"]


def test_silence_and_noise_give_no_events() -> None:
    for name in ("silence", "white noise full scale", "DC +max", "sweep"):
        dsp = LineDsp(RATE)
        assert dsp.feed(_signals()[name]) + dsp.flush() == [], name


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=20000), chunk=st.integers(min_value=1, max_value=5000))
def test_random_bytes(data: bytes, chunk: int) -> None:
    dsp = LineDsp(RATE)
    for off in range(0, len(data), chunk):
        dsp.feed(data[off : off + chunk])
    dsp.flush()


def test_huge_chunk_is_bounded_and_loses_nothing() -> None:
    # 400 digits in one feed call: far more than the C event buffer (64) holds
    pcm = dtmf_digits("0123456789" * 40, RATE, on_ms=45, off_ms=45)
    rx = DtmfReceiver(RATE)
    digits = rx.feed(pcm) + rx.flush()
    assert len(digits) == 400
    assert rx.dropped_events == 0


def test_c_event_buffer_bound_is_enforced() -> None:
    """Fed in one C call with no draining, the receiver keeps 64 events and counts the rest."""
    pcm = dtmf_digits("5" * 100, RATE, on_ms=45, off_ms=45)
    assert len(pcm) // 2 > MAX_SAMPLES_PER_CALL
    state = ffi.new("dtmf_rx_state *")
    assert lib.dtmf_rx_init(state, RATE, ffi.NULL) == 0
    lib.dtmf_rx_feed(state, ffi.from_buffer("int16_t[]", pcm), len(pcm) // 2)
    events = ffi.new("dtmf_event[]", 200)
    assert lib.dtmf_rx_take_events(state, events, 200) == 64
    assert state.dropped == 200 - 64


def test_tone_segments_bound_is_enforced() -> None:
    det = ToneDetector(RATE)
    # 0.1 s on / 0.1 s off for 30 s: 150 segments in one C call of the test below
    pcm = b"".join(tone([425.0], -10, 0.1, RATE) + bytes(1600) for _ in range(150))
    lib.progress_feed(det._state, ffi.from_buffer("int16_t[]", pcm), len(pcm) // 2)
    assert det._state.dropped > 0
