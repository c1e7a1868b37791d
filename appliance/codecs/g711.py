"""G.711 mu-law / A-law, compiled C (``native/g711.c``) behind a bytes-in, bytes-out face.

PCM is signed 16-bit little-endian (the byte order of WAV files and of the Pi).
"""

from __future__ import annotations

from appliance._native import ffi, lib


def _check_pcm(pcm: bytes) -> int:
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(pcm)}")
    return len(pcm) // 2


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM -> mu-law bytes."""
    n = _check_pcm(pcm)
    out = bytearray(n)
    lib.g711_ulaw_encode(ffi.from_buffer("int16_t[]", pcm), ffi.from_buffer(out), n)
    return bytes(out)


def ulaw_decode(codes: bytes) -> bytes:
    """mu-law bytes -> 16-bit PCM."""
    out = bytearray(2 * len(codes))
    lib.g711_ulaw_decode(ffi.from_buffer(codes), ffi.from_buffer("int16_t[]", out), len(codes))
    return bytes(out)


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM -> A-law bytes."""
    n = _check_pcm(pcm)
    out = bytearray(n)
    lib.g711_alaw_encode(ffi.from_buffer("int16_t[]", pcm), ffi.from_buffer(out), n)
    return bytes(out)


def alaw_decode(codes: bytes) -> bytes:
    """A-law bytes -> 16-bit PCM."""
    out = bytearray(2 * len(codes))
    lib.g711_alaw_decode(ffi.from_buffer(codes), ffi.from_buffer("int16_t[]", out), len(codes))
    return bytes(out)
