"""The C demodulator side by side with the plain NumPy reference (fsk_reference.py)."""

from __future__ import annotations

import fsk_reference
import numpy as np
import pytest
from appliance._native import ffi, lib
from cid_signals import noisy_fsk

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.cid_message import build_mdmf, build_sdmf

MSG = build_mdmf(number="0401234567", name="ANNA", datetime="11221530")
MOD_INDEX = {"bell202": 0, "v23": 1}


def c_statistic(pcm: bytes, rate: int, modulation: str) -> np.ndarray:
    state = ffi.gc(lib.fsk_receiver_new(rate), lib.fsk_receiver_free)
    n = len(pcm) // 2
    out = ffi.new("float[]", n)
    lib.fsk_receiver_trace(state, ffi.from_buffer("int16_t[]", pcm), n, MOD_INDEX[modulation], out)
    return np.frombuffer(ffi.buffer(out), dtype=np.float32).astype(np.float64)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
@pytest.mark.parametrize("snr", [None, 10.0])
def test_statistic_matches_reference(rate: int, modulation: str, snr: float | None) -> None:
    pcm = noisy_fsk(MSG, modulation=modulation, sample_rate=rate, snr_db=snr, seed=5,
                    level_dbm0=-20)
    ours = c_statistic(pcm, rate, modulation)
    ref = fsk_reference.statistic(pcm, rate, modulation)
    # compare where there is signal (the ratio of two near-zero energies is arbitrary)
    # the FSK, not the silence; after digital silence the receiver resumes at the
    # second 64-sample block boundary (its quiet-line skip), so start there
    span = slice(int(0.3 * rate) + 2 * 64 + 16, len(ref) - int(0.2 * rate))
    diff = np.abs(ours[span] - ref[span])
    assert np.percentile(diff, 99.9) < 2e-3, diff.max()
    assert np.mean(np.sign(ours[span]) == np.sign(ref[span])) > 0.999


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_clean_signals_decode_identically(rate: int, modulation: str) -> None:
    pcm = noisy_fsk(MSG, modulation=modulation, sample_rate=rate) + noisy_fsk(
        build_sdmf("12312359", "5551212"), modulation=modulation, sample_rate=rate, lead_s=0.1)
    ours = [m.raw for m in CallerIdReceiver(rate).feed_messages(pcm)]
    assert ours == fsk_reference.decode(pcm, rate, modulation) == [
        MSG, build_sdmf("12312359", "5551212")]


@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_c_decodes_at_least_what_the_reference_decodes(modulation: str) -> None:
    """Noisy signals: the C receiver's refinements must never lose a message the
    plain reference gets."""
    ours = ref = 0
    for seed in range(24):
        snr = 7.0 if modulation == "bell202" else 9.0
        pcm = noisy_fsk(MSG, modulation=modulation, sample_rate=8000, snr_db=snr, seed=seed)
        got_ref = MSG in fsk_reference.decode(pcm, 8000, modulation)
        got_ours = MSG in [m.raw for m in CallerIdReceiver(8000).feed_messages(pcm)]
        ref += got_ref
        ours += got_ours
    assert ours >= ref, (ours, ref)
    assert ours >= 12
