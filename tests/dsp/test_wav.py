"""WAV input: PCM, mu-law and A-law at 8 and 16 kHz; everything else is refused clearly."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from appliance.dsp.generator import dtmf_digits
from appliance.dsp.wav import read_pcm, write_wav
from appliance.errors import DecodeError


@pytest.mark.parametrize("encoding", ["pcm16", "ulaw", "alaw"])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_round_trip(tmp_path: Path, encoding: str, rate: int) -> None:
    pcm = dtmf_digits("123", rate)
    path = tmp_path / "a.wav"
    write_wav(path, pcm, rate, encoding)
    back, got_rate = read_pcm(path)
    assert got_rate == rate
    x, y = np.frombuffer(pcm, "<i2").astype(float), np.frombuffer(back, "<i2").astype(float)
    assert len(x) == len(y)
    if encoding == "pcm16":
        assert back == pcm
    else:  # G.711: about 38 dB signal to quantisation noise
        assert 10 * np.log10((x**2).sum() / ((x - y) ** 2).sum()) > 30


def _wav(fmt_tag: int, channels: int, rate: int, bits: int, data: bytes, extra_chunks: bytes = b"") -> bytes:
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    body = b"WAVE" + extra_chunks + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_skips_unknown_chunks_and_reads_extensible(tmp_path: Path) -> None:
    path = tmp_path / "b.wav"
    path.write_bytes(_wav(1, 1, 8000, 16, b"\x01\x00\x02\x00", extra_chunks=b"LIST\x03\x00\x00\x00abc\x00"))
    assert read_pcm(path) == (b"\x01\x00\x02\x00", 8000)
    fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 4, 1, b"\x00" * 14)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 2) + b"\x05\x00"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert read_pcm(path) == (b"\x05\x00", 16000)


def test_truncated_data_uses_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "c.wav"
    path.write_bytes(_wav(1, 1, 8000, 16, b"\x01\x00\x02\x00\x03\x00")[:-3])
    assert read_pcm(path) == (b"\x01\x00", 8000)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a WAV"),
        (b"hello world, not audio at all", "not a WAV"),
        (_wav(1, 2, 8000, 16, b"\0" * 8), "2 channels"),
        (_wav(1, 1, 44100, 16, b"\0" * 8), "44100 Hz"),
        (_wav(1, 1, 8000, 8, b"\0" * 8), "8-bit pcm16"),
        (_wav(3, 1, 8000, 32, b"\0" * 8), "format tag 3"),
        (_wav(7, 1, 8000, 16, b"\0" * 8), "16-bit ulaw"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no data chunk"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt \x02\x00\x00\x00ab", "fmt chunk too short"),
    ],
)
def test_refusals_are_one_clear_line(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=match) as err:
        read_pcm(path)
    assert "\n" not in str(err.value)
