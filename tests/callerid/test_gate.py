"""The band gate in front of the demodulators (native/fsk.c run()).

The gate skips loud blocks with little energy at the caller-ID tones (speech, white
noise) and, when it opens, demodulates the last 40 bits again from the sample ring.
``CallerIdReceiver(rate, gate=False)`` is the path without it: the gate must never
lose a message that path decodes, on any standard, rate, SNR, level, offset, twist,
preamble length, what precedes the burst (silence, noise, speech) or a loud tone out of
the band under it (mains hum, a 3 kHz whistle).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from cid_signals import dbm0_rms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dsp.callerid import CallerIdReceiver, FskMessage
from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf, build_sdmf
from appliance.dsp.testsignals import pitch_shift, real_speech

MSG = build_mdmf(number="0401234567", name="ANNA SMITH", datetime="11221530")
SHORT = build_sdmf(number="5551234", datetime="11221530")
CLEAN_SNR_DB = 10.0
END_TOLERANCE_BITS = 0.5
LABEL_MIN_MARK_BITS = 55  # the shortest mark run of the standards (ETSI: 80 +- 25)
SPEECH_SECONDS = 120  # of the recorded corpus used as the material before a burst


@functools.cache
def _speech(rate: int) -> np.ndarray:
    """Recorded speech (synthetic voiced speech when the corpus is not installed)."""
    pcm = real_speech(SPEECH_SECONDS)
    if pcm and rate == 16000:
        pcm = pitch_shift(pcm, 0.5)
    if pcm:
        return np.frombuffer(pcm, "<i2").astype(float)
    t = np.arange(SPEECH_SECONDS * rate) / rate
    f0 = 110 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 9))
    return 3000 * voiced * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))


def _burst(data: st.DataObject) -> tuple[bytes, int, bytes, float, int]:
    """A burst on a line; returns it, the rate, the message, the SNR (white noise; a
    tone out of the band makes it -inf: the SNR no longer says how clean it is) and
    the mark bits."""
    rate = data.draw(st.sampled_from([8000, 16000]))
    modulation = data.draw(st.sampled_from(["bell202", "v23"]))
    level = data.draw(st.floats(-42.0, -5.0))
    snr = data.draw(st.floats(3.0, 30.0))
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    sent = data.draw(st.sampled_from([MSG, SHORT]))
    clean = fsk_signal(
        sent, modulation=modulation, sample_rate=rate,
        level_dbm0=level, freq_offset_hz=data.draw(st.floats(-40.0, 40.0)),
        twist_db=data.draw(st.floats(-12.0, 9.0)), seizure_bits=data.draw(st.sampled_from([0, 300])),
        mark_bits=(mark_bits := data.draw(st.sampled_from([12, 20, 55, 80, 180]))),
        phase=float(rng.uniform(0, 2 * np.pi)))
    sig = np.frombuffer(clean, "<i2").astype(float)
    lead = int(rng.integers(rate // 10, rate))
    before = data.draw(st.sampled_from(["silence", "noise", "speech"]))
    x = np.zeros(lead + len(sig) + rate // 4)
    if before == "speech":
        speech = _speech(rate)
        start = int(rng.integers(0, len(speech) - lead))
        gain = dbm0_rms(data.draw(st.floats(-35.0, -5.0))) / max(float(np.std(speech[start:start + lead])), 1.0)
        x[:lead] = speech[start:start + lead] * gain
    x[lead:lead + len(sig)] += sig
    white_only = True
    hum = data.draw(st.sampled_from([None, 50.0, 60.0, 150.0, 3000.0, 3400.0]))
    if hum is not None:  # a loud tone out of the band, under the whole recording
        t = np.arange(len(x)) / rate
        x += np.sqrt(2) * dbm0_rms(level + data.draw(st.floats(0.0, 15.0))) * np.sin(2 * np.pi * hum * t)
        white_only = False
    if before != "silence" or data.draw(st.booleans()):
        x += rng.normal(0.0, dbm0_rms(level) / 10 ** (snr / 20), len(x))
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
    return pcm, rate, sent, snr if white_only else -math.inf, mark_bits


def _decode(pcm: bytes, rate: int, gate: bool) -> list[FskMessage]:
    return CallerIdReceiver(rate, gate=gate).feed_messages(pcm)


def _covers(gated: list[FskMessage], ungated: list[FskMessage], rate: int, labels: bool) -> bool:
    """Every message of the path without the gate is in the gated output, labelled
    with the same standard (if ``labels``), its end within half a bit (the two demodulators end a
    message a sample apart, and either may be the one reported). The start and the
    measured mark frequency may differ: after a replay the mark run is counted from
    the replay, where the path without the gate may count what came before the burst
    as mark. The gated path may decode more: the replay starts its demodulators
    afresh next to the burst."""
    for b in ungated:
        match = [a for a in gated if a.raw == b.raw and (a.modulation == b.modulation or not labels)
                 and abs(a.end - b.end) <= END_TOLERANCE_BITS * rate / 1200]
        if len(match) != 1 or not 0 <= match[0].start < match[0].end:
            return False
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_gate_never_drops_a_message(data: st.DataObject) -> None:
    pcm, rate, sent, snr, mark_bits = _burst(data)
    ungated = _decode(pcm, rate, gate=False)
    gated = _decode(pcm, rate, gate=True)
    # the standard is told from the mark frequency measured over the mark run: over
    # a few bits in heavy noise that measurement is a guess on either path
    labels = mark_bits >= LABEL_MIN_MARK_BITS or snr >= CLEAN_SNR_DB
    # (a false decode of the noise or speech, checksum right by chance, need not recur)
    true_ones = [m for m in ungated if m.raw == sent]
    assert _covers(gated, true_ones, rate, labels), (gated, ungated)
    if snr >= CLEAN_SNR_DB:
        # what only the gated path decodes is the message sent (at 3 dB an SDMF
        # checksum can pass two bit errors, on either path)
        assert [m.raw for m in gated] in ([], [sent]), gated


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_gate_is_chunking_independent(data: st.DataObject) -> None:
    """Gate decisions are per stream-aligned block: any cut gives the same messages."""
    pcm, rate, _, _, _ = _burst(data)
    whole = _decode(pcm, rate, gate=True)
    sizes = data.draw(st.lists(st.integers(1, 3000), min_size=1, max_size=8))
    rx = CallerIdReceiver(rate)
    cut: list[FskMessage] = []
    pos = i = 0
    while pos < len(pcm):
        step = sizes[i % len(sizes)]
        cut += rx.feed_messages(pcm[pos:pos + step])
        pos += step
        i += 1
    assert [(m.raw, m.start, m.end, m.modulation) for m in cut] == [
        (m.raw, m.start, m.end, m.modulation) for m in whole]


def test_short_preamble_after_loud_speech() -> None:
    """12 mark bits right after speech the gate skipped: the replay finds the mark run."""
    for rate in (8000, 16000):
        for modulation in ("bell202", "v23"):
            speech = _speech(rate)[: rate // 2]
            speech = speech * dbm0_rms(-10.0) / np.std(speech)
            sig = np.frombuffer(fsk_signal(MSG, modulation=modulation, sample_rate=rate,
                                           seizure_bits=0, mark_bits=12), "<i2").astype(float)
            x = np.concatenate([speech, sig, np.zeros(rate // 4)])
            pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
            got = _decode(pcm, rate, gate=True)
            assert [(m.raw, m.modulation) for m in got] == [(MSG, modulation)], (rate, modulation)


def test_recorded_speech_gives_no_caller_id() -> None:
    """The whole recorded corpus (when installed) at both rates, 12 dB hot too: no event."""
    speech = real_speech()
    if not speech:
        speech = (np.clip(_speech(8000), -32768, 32767)).astype("<i2").tobytes()
    hot = np.clip(np.frombuffer(speech, "<i2").astype(np.int32) * 4, -32768, 32767).astype("<i2").tobytes()
    for pcm, rate in ((speech, 8000), (hot, 8000), (pitch_shift(speech[: 2 * 8000 * 1800], 0.5), 16000)):
        rx = CallerIdReceiver(rate)
        assert rx.feed(pcm) == []
        assert rx.bad_checksums >= 0
