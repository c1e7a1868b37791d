"""An independent implementation: spandsp's ADSI transmitter and receiver (libspandsp).

spandsp generates CLASS (Bell 202), ETSI CLIP (V.23) and DTMF CLIP caller ID; our
receivers must decode all of it, and spandsp's receiver must decode our generator.
Skipped when libspandsp is not installed (Debian package ``libspandsp-dev``).
"""

from __future__ import annotations

import pytest
import spandsp_abi as sp
from cid_signals import add_noise, dbm0_rms, pad

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import dtmf_cid_string, fsk_signal
from appliance.dsp.chain import decode
from appliance.dsp.cid_message import build_mdmf, build_sdmf

pytestmark = pytest.mark.skipif(not sp.AVAILABLE, reason="libspandsp not installed")

STANDARDS = {"bell202": sp.ADSI_STANDARD_CLASS, "v23": sp.ADSI_STANDARD_CLIP}
MESSAGES = [
    build_mdmf(number="0401234567", name="ANNA", datetime="11221530"),
    build_mdmf(datetime="01010000", number_absent="private", name_absent="private"),
    build_mdmf(number="+358401234567", name="Lab reception 3", datetime="12312359"),
    build_sdmf("09301224", "6095551212"),
    build_sdmf("09301224", number_absent="unavailable"),
]
SPANDSP_TX_LEVEL_DBM0 = -13.7  # measured RMS of adsi_tx's FSK


@pytest.mark.parametrize("modulation", ["bell202", "v23"])
@pytest.mark.parametrize("raw", MESSAGES, ids=lambda r: r[:2].hex())
@pytest.mark.parametrize("marks", [-1, 180])  # spandsp's default is 80 mark bits
def test_we_decode_spandsp_fsk(modulation: str, raw: bytes, marks: int) -> None:
    pcm = pad(sp.adsi_transmit(raw, STANDARDS[modulation], mark_bits=marks), 8000)
    rx = CallerIdReceiver(8000)
    messages = rx.feed_messages(pcm)
    # byte for byte, checksum included: spandsp computed its own checksum
    assert [(m.raw, m.modulation) for m in messages] == [(raw, modulation)]


@pytest.mark.parametrize("modulation", ["bell202", "v23"])
@pytest.mark.parametrize("stop_bits", [2, 4])
def test_we_decode_spandsp_fsk_with_extra_stop_bits(modulation: str, stop_bits: int) -> None:
    raw = MESSAGES[0]
    pcm = pad(sp.adsi_transmit(raw, STANDARDS[modulation], stop_bits=stop_bits), 8000)
    assert [m.raw for m in CallerIdReceiver(8000).feed_messages(pcm)] == [raw]


@pytest.mark.parametrize("modulation", ["bell202", "v23"])
def test_we_decode_noisy_spandsp_fsk(modulation: str) -> None:
    raw = MESSAGES[0]
    ok = 0
    for seed in range(10):
        pcm = pad(sp.adsi_transmit(raw, STANDARDS[modulation]), 8000)
        pcm = add_noise(pcm, 10.0, dbm0_rms(SPANDSP_TX_LEVEL_DBM0), seed)
        ok += [m.raw for m in CallerIdReceiver(8000).feed_messages(pcm)] == [raw]
    assert ok >= 9


@pytest.mark.parametrize("modulation", ["bell202", "v23"])
@pytest.mark.parametrize("raw", MESSAGES, ids=lambda r: r[:2].hex())
def test_spandsp_decodes_our_generator(modulation: str, raw: bytes) -> None:
    rx = sp.AdsiReceiver(STANDARDS[modulation])
    try:
        rx.feed(pad(fsk_signal(raw, modulation=modulation), 8000))
        assert rx.messages == [raw[:-1]]  # spandsp hands over the message without its checksum
    finally:
        rx.close()


@pytest.mark.parametrize("digits,want", [
    ("A0401234567C", {"number": "0401234567"}),
    ("A0401234567D0509876543C", {"number": "0401234567", "redirect": "0509876543"}),
    ("B10C", {"reason": "private"}),
    ("B00C", {"reason": "unavailable"}),
    ("D0223456789C", {"number": "0223456789"}),
    ("A0401234567#", {"number": "0401234567"}),
    ("D1#", {"reason": "private"}),
    ("0401234567#", {"number": "0401234567"}),
])
def test_dtmf_clip_from_spandsp_through_the_chain(digits: str, want: dict[str, str]) -> None:
    pcm = pad(sp.adsi_transmit(digits.encode(), sp.ADSI_STANDARD_CLIP_DTMF), 8000)
    events = decode(pcm, 8000)
    cid = [e for e in events if e["type"] == "caller_id"]
    heard = "".join(e["digit"] for e in events if e["type"] == "dtmf")
    assert heard == digits
    assert len(cid) == 1
    assert {k: v for k, v in cid[0].items() if k not in ("start", "end")} == {
        "type": "caller_id", "format": "dtmf", "modulation": "dtmf", **want}
    assert 0.25 < cid[0]["start"] < cid[0]["end"] < len(pcm) / 2 / 8000


def test_our_dtmf_cid_string_matches_spandsp_conventions() -> None:
    assert dtmf_cid_string("0401234567") == "A0401234567C"
    assert dtmf_cid_string(reason="private") == "B10C"
    assert dtmf_cid_string(reason="private", form="A_#") == "D1#"
