"""The FSK caller-ID receiver on generated signals: fields, timing, chunking, both standards."""

from __future__ import annotations

import numpy as np
import pytest
from cid_signals import decode_chunked, noisy_fsk, pad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dsp.callerid import RECENT_MESSAGES, CallerIdReceiver
from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf, build_message_waiting, build_sdmf, frame

RATES = (8000, 16000)
MODULATIONS = ("bell202", "v23")
MDMF = build_mdmf(number="0401234567", name="ANNA", datetime="11221530")


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("modulation", MODULATIONS)
def test_mdmf_event_as_in_the_interface(rate: int, modulation: str) -> None:
    pcm = pad(fsk_signal(MDMF, modulation=modulation, sample_rate=rate), rate, lead_s=0.5)
    events = decode_chunked(pcm, rate)
    bits = 300 + 180 + 10 * len(MDMF)
    assert events == [{
        "type": "caller_id", "number": "0401234567", "name": "ANNA", "datetime": "11221530",
        "format": "mdmf", "modulation": modulation, "start": 0.5,
        "end": pytest.approx(0.5 + bits / 1200, abs=0.002),
    }]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("modulation", MODULATIONS)
def test_sdmf_and_withheld_number(rate: int, modulation: str) -> None:
    pcm = pad(fsk_signal(build_sdmf("01020304", "5551234"), modulation=modulation,
                         sample_rate=rate), rate)
    pcm += pad(fsk_signal(build_sdmf("01020305", number_absent="private"),
                          modulation=modulation, sample_rate=rate), rate)
    events = decode_chunked(pcm, rate)
    assert [(e["format"], e.get("number"), e.get("reason"), e["datetime"]) for e in events] == [
        ("sdmf", "5551234", None, "01020304"), ("sdmf", None, "private", "01020305")]
    assert all(e["modulation"] == modulation for e in events)


@pytest.mark.parametrize("modulation", MODULATIONS)
def test_call_waiting_preamble_and_no_seizure(modulation: str) -> None:
    """80 mark bits (caller ID on call waiting), and marks only (no channel seizure)."""
    for seizure, marks in ((300, 80), (0, 80), (0, 20)):
        pcm = pad(fsk_signal(MDMF, modulation=modulation, seizure_bits=seizure, mark_bits=marks),
                  8000)
        assert [e["number"] for e in decode_chunked(pcm, 8000)] == ["0401234567"], (seizure, marks)


@pytest.mark.parametrize("level", [-5.0, -13.0, -25.0, -40.0, -45.0])
@pytest.mark.parametrize("modulation", MODULATIONS)
def test_levels(level: float, modulation: str) -> None:
    pcm = noisy_fsk(MDMF, modulation=modulation, sample_rate=8000, level_dbm0=level, snr_db=30)
    assert [e["number"] for e in decode_chunked(pcm, 8000)] == ["0401234567"]


@pytest.mark.parametrize("offset", [-36.0, -12.0, 12.0, 36.0])  # up to 3 % of 1200 Hz
@pytest.mark.parametrize("modulation", MODULATIONS)
def test_frequency_offset_keeps_the_standard(offset: float, modulation: str) -> None:
    pcm = noisy_fsk(MDMF, modulation=modulation, sample_rate=8000, snr_db=25,
                    freq_offset_hz=offset)
    events = decode_chunked(pcm, 8000)
    assert [(e["number"], e["modulation"]) for e in events] == [("0401234567", modulation)]


@pytest.mark.parametrize("baud", [1188.0, 1212.0])  # +-1 % bit rate (GR-30 tolerance)
def test_bit_rate_tolerance(baud: float) -> None:
    pcm = pad(fsk_signal(MDMF, modulation="bell202", baud=baud), 8000)
    assert [e["number"] for e in decode_chunked(pcm, 8000)] == ["0401234567"]


def test_longest_message() -> None:
    raw = frame(0x80, bytes([7, 253]) + b"N" * 253)
    pcm = pad(fsk_signal(raw, modulation="v23"), 8000)
    rx = CallerIdReceiver(8000)
    assert [m.raw for m in rx.feed_messages(pcm)] == [raw]


def test_non_caller_id_messages_give_no_event() -> None:
    pcm = pad(fsk_signal(build_message_waiting(True), modulation="v23"), 8000)
    rx = CallerIdReceiver(8000)
    assert rx.feed(pcm) == [] and rx.bad_checksums == 0


def test_bad_checksum_gives_no_event_and_is_counted() -> None:
    raw = bytearray(MDMF)
    raw[-1] ^= 0x55
    pcm = pad(fsk_signal(bytes(raw), modulation="bell202"), 8000)
    rx = CallerIdReceiver(8000)
    assert rx.feed(pcm) == []
    assert rx.bad_checksums >= 1


def test_many_messages_in_one_feed_and_duplicate_memory_is_bounded() -> None:
    numbers = [f"0400000{i:03d}" for i in range(RECENT_MESSAGES + 4)]
    pcm = b"".join(pad(fsk_signal(build_mdmf(number=n), modulation="bell202"), 8000, 0.1, 0.1)
                   for n in numbers)
    rx = CallerIdReceiver(8000)
    assert [e["number"] for e in rx.feed(pcm)] == numbers
    assert len(rx._recent) == RECENT_MESSAGES


def test_same_message_twice_is_reported_twice() -> None:
    one = pad(fsk_signal(MDMF, modulation="v23"), 8000, 0.2, 0.5)
    assert len(decode_chunked(one + one, 8000)) == 2


def test_rejects_other_sample_rates() -> None:
    with pytest.raises(ValueError, match="11025"):
        CallerIdReceiver(11025)


_PCM = noisy_fsk(MDMF, modulation="v23", sample_rate=8000, snr_db=15, seed=3)
_WHOLE = decode_chunked(_PCM, 8000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 4001), min_size=1, max_size=6))
def test_results_do_not_depend_on_chunking(sizes: list[int]) -> None:
    assert _WHOLE and decode_chunked(_PCM, 8000, sizes) == _WHOLE


digits = st.text(alphabet="0123456789", min_size=1, max_size=15)
name_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                    max_size=15)
dates = st.builds(lambda mo, d, h, mi: f"{mo:02d}{d:02d}{h:02d}{mi:02d}",
                  st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=digits, name=name_text, when=dates, sdmf=st.booleans(),
       modulation=st.sampled_from(MODULATIONS), rate=st.sampled_from(RATES),
       level=st.floats(-40.0, -5.0), snr=st.floats(14.0, 40.0),
       chunk=st.integers(1, 3000), seed=st.integers(0, 2**16))
def test_round_trip(number: str, name: str, when: str, sdmf: bool, modulation: str, rate: int,
                    level: float, snr: float, chunk: int, seed: int) -> None:
    raw = build_sdmf(when, number) if sdmf else build_mdmf(number=number, name=name, datetime=when)
    pcm = noisy_fsk(raw, modulation=modulation, sample_rate=rate, level_dbm0=level, snr_db=snr,
                    seed=seed)
    events = decode_chunked(pcm, rate, [chunk])
    want = {"type": "caller_id", "number": number, "datetime": when,
            "format": "sdmf" if sdmf else "mdmf", "modulation": modulation}
    if not sdmf:
        want["name"] = name
    assert len(events) == 1
    got = {k: v for k, v in events[0].items() if k not in ("start", "end")}
    assert got == want
    assert events[0]["start"] == pytest.approx(0.3, abs=0.02)


def test_start_is_the_signal_onset_even_in_noise() -> None:
    pcm = noisy_fsk(MDMF, modulation="bell202", sample_rate=8000, snr_db=12, lead_s=1.0)
    (event,) = decode_chunked(pcm, 8000)
    assert event["start"] == pytest.approx(1.0, abs=0.02)


def test_statistic_is_level_independent() -> None:
    """d is a ratio: the same signal 35 dB apart gives the same decisions."""
    from appliance._native import ffi, lib

    traces = []
    for level in (-5.0, -40.0):
        pcm = fsk_signal(MDMF, modulation="bell202", level_dbm0=level)
        state = ffi.gc(lib.fsk_receiver_new(8000), lib.fsk_receiver_free)
        out = ffi.new("float[]", len(pcm) // 2)
        lib.fsk_receiver_trace(state, ffi.from_buffer("int16_t[]", pcm), len(pcm) // 2, 0, out)
        traces.append(np.frombuffer(ffi.buffer(out), dtype=np.float32).copy())
    assert np.max(np.abs(traces[0][50:] - traces[1][50:])) < 0.05


def test_idle_line_floor() -> None:
    """Decisions do not depend on the level; only under -65 dBm0 is the line idle."""
    for level, found in ((-55.0, 1), (-60.0, 1), (-75.0, 0)):
        pcm = pad(fsk_signal(MDMF, modulation="bell202", level_dbm0=level), 8000)
        assert len(decode_chunked(pcm, 8000)) == found, level
