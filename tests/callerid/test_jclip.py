"""Japanese caller ID (NTT JCLIP) against an independent implementation: spandsp's
``adsi_tx`` / ``adsi_rx`` with ``ADSI_STANDARD_JCLIP`` (libspandsp, cffi ABI mode).

The receiver is not told the standard: the same CallerIdReceiver (and the line chain)
that decodes Bell 202 and ETSI V.23 must decode JCLIP, and name it ``jclip``.
spandsp-dependent tests skip when libspandsp is not installed; the rest run anyway.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pytest
import spandsp_abi as sp
from cid_signals import add_noise, dbm0_rms, pad

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import fsk_bits, fsk_signal, jclip_signal
from appliance.dsp.chain import decode
from appliance.dsp.cid_message import (
    DLE,
    JCLIP_ABSENCE,
    JCLIP_CALLER_ID,
    JCLIP_DIALED_NUMBER,
    JCLIP_NUMBER,
    JCLIP_NUMBER_DES,
    build_jclip,
    build_mdmf,
    crc16_kermit,
    parse_jclip,
    parse_message,
)
from appliance.errors import DecodeError

needs_spandsp = pytest.mark.skipif(not sp.AVAILABLE, reason="libspandsp not installed")

# (our builder's arguments, spandsp's parameters for the same packet)
CASES = [
    ({"number": "0312345678"}, [(JCLIP_NUMBER, b"0312345678")]),
    ({"number": "09012345678"}, [(JCLIP_NUMBER, b"09012345678")]),
    # 14 digits: the parameters are 16 bytes long, so the length byte is a DLE (doubled)
    ({"number": "81312345678901"}, [(JCLIP_NUMBER, b"81312345678901")]),
    ({"number_absent": "private"}, [(JCLIP_ABSENCE, b"P")]),
    ({"number_absent": "payphone"}, [(JCLIP_ABSENCE, b"C")]),
    ({"number_absent": "unavailable"}, [(JCLIP_ABSENCE, b"O")]),
    ({"number": "0312345678", "dialed_number": "0120444444"},
     [(JCLIP_NUMBER, b"0312345678"), (JCLIP_DIALED_NUMBER, b"0120444444")]),
]
WANT = [
    {"number": "0312345678"},
    {"number": "09012345678"},
    {"number": "81312345678901"},
    {"reason": "private"},
    {"reason": "payphone"},
    {"reason": "unavailable"},
    {"number": "0312345678"},
]
IDS = ["number", "mobile", "length-is-DLE", "private", "payphone", "unavailable", "dialed"]
# what adsi_tx puts on the line with its JCLIP defaults (75 preamble ones, 4 stop bits,
# 5 postamble ones): its bit counter sends one more mark before the packet and one
# fewer after it
SPANDSP_MARKS, SPANDSP_STOP_BITS, SPANDSP_POSTAMBLE = 76, 4, 4


def _spandsp_tx(case: int, **kwargs: int) -> bytes:
    return sp.adsi_transmit(sp.jclip_message(JCLIP_CALLER_ID, CASES[case][1]),
                            sp.ADSI_STANDARD_JCLIP, **kwargs)


def _line_bits(pcm: bytes, n_bits: int) -> list[int]:
    """Hard bit decisions on a clean V.23 signal (spandsp's modulator starts at sample 0,
    8000/1200 samples a bit): the instantaneous frequency (analytic signal, phase step per
    sample) averaged over the middle of each bit, against the 1700 Hz midpoint."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.fft.fft(x)
    spectrum[len(x) // 2 + 1 :] = 0.0
    spectrum[1 : (len(x) + 1) // 2] *= 2.0
    analytic = np.fft.ifft(spectrum)
    freq = np.angle(analytic[1:] * np.conj(analytic[:-1])) * 8000 / (2 * np.pi)
    per = 8000 / 1200
    bits = []
    for i in range(n_bits):
        centre = (i + 0.5) * per
        seg = freq[int(centre) - 2 : int(centre) + 1]
        bits.append(int(np.mean(seg) < 1700.0))
    return bits


# --- the packet: bytes, CRC, parsing --------------------------------------------------


def test_packet_layout() -> None:
    raw = build_jclip("0312345678")
    assert raw[:7] == bytes([0x90, 0x81, 0x87, 0x90, 0x82, 0xC0, 0x0C])  # parity bits set
    assert raw[-4:-2] == bytes([0x90, 0x03])  # DLE ETX
    assert crc16_kermit(raw[2:]) == 0  # the CRC over header .. ETX, then itself
    assert crc16_kermit(b"123456789") == 0x2189  # CRC-16/KERMIT check value


@needs_spandsp
def test_crc_is_spandsps() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 40, 200):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc16_kermit(data) == sp.crc_itu16(data)


@needs_spandsp
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_our_packet_is_spandsps_bit_for_bit(case: int) -> None:
    """spandsp frames, stuffs, sets parity and computes the CRC itself: the bits of its
    signal are the bits of ours, start to end (byte for byte, CRC included)."""
    raw = build_jclip(**CASES[case][0])
    want = fsk_bits(raw, seizure_bits=0, mark_bits=SPANDSP_MARKS, stop_bits=SPANDSP_STOP_BITS,
                    trailing_mark_bits=SPANDSP_POSTAMBLE)
    pcm = _spandsp_tx(case)
    n_bits = int(len(pcm) // 2 * 1200 / 8000)
    assert n_bits == len(want)
    assert _line_bits(pcm, n_bits) == want


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_parse_round_trip(case: int) -> None:
    message = parse_message(build_jclip(**CASES[case][0]))
    assert message.format == "jclip" and message.is_caller_id
    assert {k: v for k, v in message.event_fields().items() if k != "format"} == WANT[case]


def test_parse_rejects_damage() -> None:
    raw = bytearray(build_jclip("0312345678"))
    for i in range(1, len(raw)):
        for bit in (0x01, 0x40):
            bad = bytearray(raw)
            bad[i] ^= bit
            with pytest.raises(DecodeError):
                parse_jclip(bytes(bad))
    with pytest.raises(DecodeError):
        parse_jclip(bytes(raw[:-3]))


def test_parse_random_bytes_raise_only_decode_error() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(0, 40))
        raw = bytes([0x90]) + rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        with contextlib.suppress(DecodeError):  # anything else fails the test
            parse_message(raw)


@needs_spandsp
def test_dle_in_a_parameter_is_undone() -> None:
    """A DLE inside a parameter goes on the line twice (spandsp's adsi_add_field);
    the parameters we report hold it once."""
    params = [(JCLIP_NUMBER, b"0312345678"), (JCLIP_NUMBER_DES, bytes([DLE, 0x41]))]
    pcm = pad(sp.adsi_transmit(sp.jclip_message(JCLIP_CALLER_ID, params), sp.ADSI_STANDARD_JCLIP), 8000)
    messages = CallerIdReceiver(8000).feed_messages(pcm)
    assert len(messages) == 1
    assert bytes([0x90, 0x90, 0x41]) in messages[0].raw  # doubled on the line, parity set
    assert parse_jclip(messages[0].raw).params == tuple(params)


# --- the receiver: spandsp's signal ---------------------------------------------------


@needs_spandsp
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
@pytest.mark.parametrize("marks,stop_bits", [(-1, -1), (40, 1), (150, 2)])
def test_we_decode_spandsp_jclip(case: int, marks: int, stop_bits: int) -> None:
    pcm = pad(_spandsp_tx(case, mark_bits=marks, stop_bits=stop_bits), 8000)
    messages = CallerIdReceiver(8000).feed_messages(pcm)
    assert [(m.raw, m.modulation) for m in messages] == [(build_jclip(**CASES[case][0]), "v23")]


@needs_spandsp
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_spandsp_jclip_through_the_chain(case: int) -> None:
    """The line chain, not told the standard, reports a JCLIP caller_id event."""
    pcm = pad(_spandsp_tx(case), 8000, lead_s=0.5)
    events = [e for e in decode(pcm, 8000) if e["type"] == "caller_id"]
    assert len(events) == 1
    fields = {k: v for k, v in events[0].items() if k not in ("start", "end")}
    assert fields == {"type": "caller_id", "format": "jclip", "modulation": "v23", **WANT[case]}
    assert 0.49 < events[0]["start"] < 0.51


@needs_spandsp
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_spandsp_decodes_our_generator(case: int) -> None:
    raw = build_jclip(**CASES[case][0])
    rx = sp.AdsiReceiver(sp.ADSI_STANDARD_JCLIP)
    try:
        rx.feed(pad(jclip_signal(raw), 8000))
        if IDS[case] == "length-is-DLE":
            # spandsp's receiver finds the end from the length byte's position, not
            # counting a doubled DLE there: it misses its own packet as well
            own = sp.AdsiReceiver(sp.ADSI_STANDARD_JCLIP)
            own.feed(pad(_spandsp_tx(case), 8000))
            assert own.messages == rx.messages == []
            own.close()
            return
        assert rx.messages == [bytes(b & 0x7F for b in raw[:-2])]  # parity cleared, no CRC
    finally:
        rx.close()


def test_jclip_and_etsi_on_one_stream_without_configuration() -> None:
    """A Japanese call, then a European one, into one chain at 8 and 16 kHz."""
    jclip = build_jclip("0312345678")
    etsi = build_mdmf(number="0401234567", name="ANNA", datetime="11221530")
    for rate in (8000, 16000):
        pcm = (pad(jclip_signal(jclip, sample_rate=rate), rate, lead_s=0.4)
               + pad(fsk_signal(etsi, modulation="v23", sample_rate=rate), rate, lead_s=1.0))
        events = [e for e in decode(pcm, rate) if e["type"] == "caller_id"]
        assert [(e["format"], e["number"], e["modulation"]) for e in events] == [
            ("jclip", "0312345678", "v23"), ("mdmf", "0401234567", "v23")]


def test_a_bad_crc_is_counted_not_reported() -> None:
    raw = bytearray(build_jclip("0312345678"))
    raw[-1] ^= 0x10
    rx = CallerIdReceiver(8000)
    assert rx.feed(pad(jclip_signal(bytes(raw)), 8000)) == []
    assert rx.bad_checksums >= 1


# --- sensitivity: noise, level, frequency offset, and never worse than spandsp --------

MSG = build_jclip("0312345678")
TRIALS = 20


@functools.cache
def _clean(rate: int, level: float, offset: float, phase_seed: int) -> bytes:
    phase = float(np.random.default_rng(phase_seed).uniform(0, 2 * np.pi))
    return pad(jclip_signal(MSG, sample_rate=rate, level_dbm0=level, freq_offset_hz=offset,
                            phase=phase), rate)


def _signals(rate: int, snr: float, level: float = -13.0, offset: float = 0.0) -> list[bytes]:
    return [add_noise(_clean(rate, level, offset, seed % 4), snr, dbm0_rms(level), 2000 + seed)
            for seed in range(TRIALS)]


def _ours(pcm: bytes, rate: int) -> bool:
    return [(m.raw, m.modulation) for m in CallerIdReceiver(rate).feed_messages(pcm)] == [(MSG, "v23")]


def _spandsp(pcm: bytes) -> bool:
    rx = sp.AdsiReceiver(sp.ADSI_STANDARD_JCLIP)
    try:
        rx.feed(pcm)
        return rx.messages == [bytes(b & 0x7F for b in MSG[:-2])]
    finally:
        rx.close()


@pytest.mark.parametrize("rate", [8000, 16000])
def test_snr_floor(rate: int) -> None:
    assert sum(_ours(p, rate) for p in _signals(rate, 10.0)) >= 0.95 * TRIALS


@pytest.mark.parametrize("level", [-5.0, -20.0, -40.0])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_levels_with_noise(level: float, rate: int) -> None:
    assert all(_ours(p, rate) for p in _signals(rate, 15.0, level=level))


@pytest.mark.parametrize("offset", [-26.0, 26.0])  # 2 % of the mark frequency
def test_frequency_offset_with_noise(offset: float) -> None:
    assert sum(_ours(p, 8000) for p in _signals(8000, 12.0, offset=offset)) >= 0.95 * TRIALS


@needs_spandsp
@pytest.mark.parametrize("snr,level", [(8.0, -13.0), (10.0, -13.0), (20.0, -40.0)])
def test_at_least_as_good_as_spandsp(snr: float, level: float) -> None:
    """spandsp is told the standard is JCLIP; ours is not told anything."""
    signals = _signals(8000, snr, level=level)
    ours = sum(_ours(p, 8000) for p in signals)
    theirs = sum(_spandsp(p) for p in signals)
    assert ours >= theirs, (ours, theirs)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_after_line_reversal_and_hum(rate: int) -> None:
    """JCLIP follows a line reversal (a DC step, a click) and the CAR signal; on the audio
    a step, then the mark run, with 50 Hz hum under everything."""
    n_lead = int(0.4 * rate)
    lead = np.zeros(n_lead)
    lead[int(0.1 * rate):] = 6000.0  # the reversal: a step that the line then holds
    burst = np.frombuffer(jclip_signal(MSG, sample_rate=rate, level_dbm0=-20.0), "<i2").astype(float)
    x = np.concatenate([lead, burst + 6000.0, np.full(int(0.3 * rate), 6000.0)])
    x += 300.0 * np.sin(2 * np.pi * 50.0 * np.arange(len(x)) / rate)
    pcm = np.round(x).astype("<i2").tobytes()
    events = [e for e in decode(pcm, rate) if e["type"] == "caller_id"]
    assert [(e["format"], e.get("number")) for e in events] == [("jclip", "0312345678")]
