"""The C G.711 codecs are bit-exact with Python's audioop on every input."""

from __future__ import annotations

import struct
import sys

import pytest

from appliance.codecs import g711

if sys.version_info >= (3, 13):
    audioop = pytest.importorskip("audioop_lts" if False else "audioop")  # audioop-lts installs as audioop
else:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

ALL_PCM = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))


def test_ulaw_encode_all_65536_inputs() -> None:
    assert g711.ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)


def test_alaw_encode_all_65536_inputs() -> None:
    assert g711.alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)


def test_ulaw_decode_all_256_codes() -> None:
    assert g711.ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)


def test_alaw_decode_all_256_codes() -> None:
    assert g711.alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_round_trip_is_stable() -> None:
    # decode(encode(decode(c))) == decode(c): every code is a fixed point of the quantiser
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        pcm = dec(ALL_CODES)
        assert dec(enc(pcm)) == pcm


def test_odd_length_pcm_is_refused() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        g711.ulaw_encode(b"\x00\x01\x02")


def test_empty_input() -> None:
    assert g711.ulaw_encode(b"") == b""
    assert g711.alaw_decode(b"") == b""
