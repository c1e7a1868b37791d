"""WAV input for the line DSP: mono 16-bit PCM, G.711 mu-law or A-law, at 8 or 16 kHz.

Parses RIFF chunks itself (the standard ``wave`` module refuses G.711), streams the
samples in bounded chunks as 16-bit little-endian PCM, and refuses anything else with
one clear :class:`~appliance.errors.DecodeError` line.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from appliance.codecs import g711
from appliance.errors import DecodeError

FORMAT_PCM = 1
FORMAT_ALAW = 6
FORMAT_ULAW = 7
FORMAT_EXTENSIBLE = 0xFFFE
SAMPLE_RATES = (8000, 16000)
CHUNK_FRAMES = 16000  # frames per read: bounded memory for recordings of any length
MAX_CHUNKS_BEFORE_DATA = 64
_NAMES = {FORMAT_PCM: "pcm16", FORMAT_ALAW: "alaw", FORMAT_ULAW: "ulaw"}


@dataclass(frozen=True)
class WavInfo:
    """What the header says: ``encoding`` is ``pcm16``, ``ulaw`` or ``alaw``."""

    sample_rate: int
    encoding: str
    frames: int
    data_offset: int
    data_bytes: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DecodeError(f"not a usable WAV file: truncated {what}")
    return data


def read_info(f: BinaryIO) -> WavInfo:
    """Parse the header of an open WAV file and leave the file at its first sample."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise DecodeError("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    for _ in range(MAX_CHUNKS_BEFORE_DATA):
        chunk_head = f.read(8)
        if len(chunk_head) < 8:
            break
        cid, size = chunk_head[:4], struct.unpack("<I", chunk_head[4:])[0]
        if cid == b"fmt ":
            if size < 16:
                raise DecodeError("not a usable WAV file: fmt chunk too short")
            body = _read_exact(f, size + (size & 1), "fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == FORMAT_EXTENSIBLE and size >= 40:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise DecodeError("not a usable WAV file: data before fmt chunk")
            return _check(fmt, f.tell(), size)
        else:
            f.seek(size + (size & 1), 1)
    raise DecodeError("not a usable WAV file: no data chunk")


def _check(fmt: tuple[int, int, int, int], offset: int, size: int) -> WavInfo:
    tag, channels, rate, bits = fmt
    encoding = _NAMES.get(tag)
    if encoding is None:
        raise DecodeError(f"unsupported WAV encoding (format tag {tag}): need 16-bit PCM, mu-law or A-law")
    if channels != 1:
        raise DecodeError(f"unsupported WAV: {channels} channels, need mono")
    want_bits = 16 if encoding == "pcm16" else 8
    if bits != want_bits:
        raise DecodeError(f"unsupported WAV: {bits}-bit {encoding}, need {want_bits}-bit")
    if rate not in SAMPLE_RATES:
        raise DecodeError(f"unsupported WAV sample rate {rate} Hz: need 8000 or 16000")
    width = want_bits // 8
    return WavInfo(rate, encoding, size // width, offset, size - size % width)


def iter_pcm(f: BinaryIO, info: WavInfo, chunk_frames: int = CHUNK_FRAMES) -> Iterator[bytes]:
    """The samples as 16-bit little-endian PCM, ``chunk_frames`` at a time."""
    width = 2 if info.encoding == "pcm16" else 1
    left = info.data_bytes
    while left > 0:
        raw = f.read(min(left, chunk_frames * width))
        raw = raw[: len(raw) - len(raw) % width]
        if not raw:
            break  # header claims more than the file holds: use what is there
        left -= len(raw)
        if info.encoding == "ulaw":
            yield g711.ulaw_decode(raw)
        elif info.encoding == "alaw":
            yield g711.alaw_decode(raw)
        else:
            yield raw


def read_pcm(path: str | Path) -> tuple[bytes, int]:
    """A whole file as (16-bit PCM, sample rate)."""
    with open(path, "rb") as f:
        info = read_info(f)
        return b"".join(iter_pcm(f, info)), info.sample_rate


def write_wav(path: str | Path, pcm: bytes, sample_rate: int, encoding: str = "pcm16") -> None:
    """Write 16-bit PCM as a WAV file in ``encoding`` (pcm16, ulaw, alaw): for tests and tools."""
    tags = {v: k for k, v in _NAMES.items()}
    if encoding not in tags:
        raise ValueError(f"encoding must be pcm16, ulaw or alaw, not {encoding!r}")
    if encoding == "ulaw":
        data, bits = g711.ulaw_encode(pcm), 8
    elif encoding == "alaw":
        data, bits = g711.alaw_encode(pcm), 8
    else:
        data, bits = pcm, 16
    width = bits // 8
    fmt = struct.pack("<HHIIHH", tags[encoding], 1, sample_rate, sample_rate * width, width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    if len(data) & 1:
        body += b"\0"
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
