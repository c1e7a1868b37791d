"""spandsp's DTMF receiver (``dtmf_rx``) through cffi ABI mode, for side-by-side runs.

Needs the Debian package ``libspandsp-dev`` (``libspandsp.so``). spandsp runs at 8 kHz
only: 16 kHz audio is decimated (a 63-tap low-pass, every second sample) first.
"""

from __future__ import annotations

import ctypes.util
from typing import Any

from cffi import FFI

_ffi = FFI()
_ffi.cdef(
    """
    typedef struct dtmf_rx_state_s dtmf_rx_state_t;
    typedef void (*digits_rx_callback_t)(void *user_data, const char *digits, int len);
    typedef void (*tone_report_func_t)(void *user_data, int code, int level, int delay);
    dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t callback, void *user_data);
    void dtmf_rx_set_realtime_callback(dtmf_rx_state_t *s, tone_report_func_t callback, void *user_data);
    int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples);
    size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max);
    int dtmf_rx_free(dtmf_rx_state_t *s);
    typedef struct adsi_rx_state_s adsi_rx_state_t;
    typedef void (*put_msg_func_t)(void *user_data, const uint8_t *msg, int len);
    adsi_rx_state_t *adsi_rx_init(adsi_rx_state_t *s, int standard, put_msg_func_t put_msg, void *user_data);
    int adsi_rx(adsi_rx_state_t *s, const int16_t amp[], int len);
    int adsi_rx_free(adsi_rx_state_t *s);
    typedef struct super_tone_rx_state_s super_tone_rx_state_t;
    typedef struct super_tone_rx_descriptor_s super_tone_rx_descriptor_t;
    super_tone_rx_descriptor_t *super_tone_rx_make_descriptor(super_tone_rx_descriptor_t *desc);
    int super_tone_rx_add_tone(super_tone_rx_descriptor_t *desc);
    int super_tone_rx_add_element(super_tone_rx_descriptor_t *desc, int tone, int f1, int f2, int min, int max);
    super_tone_rx_state_t *super_tone_rx_init(super_tone_rx_state_t *s, super_tone_rx_descriptor_t *desc,
                                              tone_report_func_t callback, void *user_data);
    int super_tone_rx(super_tone_rx_state_t *super, const int16_t amp[], int samples);
    int super_tone_rx_free(super_tone_rx_state_t *s);
    """
)
_loaded: dict[str, Any] = {}


def available() -> bool:
    """True when libspandsp can be loaded."""
    if "lib" not in _loaded:
        name = ctypes.util.find_library("spandsp") or "libspandsp.so.2"
        try:
            _loaded["lib"] = _ffi.dlopen(name)
        except OSError:
            return False
    return True


def _lib() -> Any:
    if not available():
        raise RuntimeError("libspandsp is not installed (apt-get install libspandsp-dev)")
    return _loaded["lib"]


def decimate(pcm: bytes) -> bytes:
    """16 kHz -> 8 kHz for spandsp."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    taps = 63
    n = np.arange(taps) - (taps - 1) / 2
    h = 0.5 * np.sinc(0.5 * n) * np.hamming(taps)
    y = np.convolve(x, h / h.sum(), mode="same")[::2]
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def digits(pcm: bytes, rate: int = 8000, chunk: int = 160) -> str:
    """The digits spandsp's dtmf_rx finds in a recording (fed ``chunk`` samples at a time)."""
    lib = _lib()
    if rate == 16000:
        pcm = decimate(pcm)
    state = lib.dtmf_rx_init(_ffi.NULL, _ffi.NULL, _ffi.NULL)
    buf = _ffi.new("char[]", 129)
    out = []
    try:
        total = len(pcm) // 2
        samples = _ffi.from_buffer("int16_t[]", pcm)
        for off in range(0, total, chunk):
            n = min(chunk, total - off)
            lib.dtmf_rx(state, samples + off, n)
            got = lib.dtmf_rx_get(state, buf, 128)
            if got:
                out.append(_ffi.string(buf, got).decode())
        silence = _ffi.new("int16_t[]", 800)
        lib.dtmf_rx(state, silence, 800)  # let a digit at the very end finish
        got = lib.dtmf_rx_get(state, buf, 128)
        if got:
            out.append(_ffi.string(buf, got).decode())
    finally:
        lib.dtmf_rx_free(state)
    return "".join(out)


def run_raw(pcm: bytes, chunk: int = 8000) -> int:
    """Feed a whole recording without collecting anything (for timing); returns digits found."""
    lib = _lib()
    state = lib.dtmf_rx_init(_ffi.NULL, _ffi.NULL, _ffi.NULL)
    buf = _ffi.new("char[]", 129)
    found = 0
    total = len(pcm) // 2
    samples = _ffi.from_buffer("int16_t[]", pcm)
    for off in range(0, total, chunk):
        lib.dtmf_rx(state, samples + off, min(chunk, total - off))
        found += lib.dtmf_rx_get(state, buf, 128)
    lib.dtmf_rx_free(state)
    return int(found)


ADSI_STANDARD_CLASS = 1
ADSI_STANDARD_CLIP = 2
CADENCE_SLACK = 0.2


@_ffi.callback("void(void *, const uint8_t *, int)")
def _on_message(user_data: Any, msg: Any, length: int) -> None:
    """spandsp delivers a caller-ID message (counted only)."""


@_ffi.callback("void(void *, int, int, int)")
def _on_tone(user_data: Any, code: int, level: int, delay: int) -> None:
    """spandsp reports a supervisory tone (counted only)."""


def _tone_descriptor(lib: Any) -> Any:
    """Every tone of appliance.dsp.tones.BUILTIN_TABLES as a spandsp super_tone_rx descriptor."""
    from appliance.dsp.tones import BUILTIN_TABLES

    desc = lib.super_tone_rx_make_descriptor(_ffi.NULL)
    for table in BUILTIN_TABLES.values():
        for freqs, cadence in table.values():
            tone = lib.super_tone_rx_add_tone(desc)
            f1, f2 = int(freqs[0]), int(freqs[1]) if len(freqs) > 1 else 0
            if not cadence:
                lib.super_tone_rx_add_element(desc, tone, f1, f2, 2000, 0)
                continue
            for i, seconds in enumerate(cadence):
                ms = 1000 * seconds
                lo, hi = int(ms * (1 - CADENCE_SLACK)), int(ms * (1 + CADENCE_SLACK))
                if i % 2 == 0:
                    lib.super_tone_rx_add_element(desc, tone, f1, f2, lo, hi)
                else:
                    lib.super_tone_rx_add_element(desc, tone, 0, 0, lo, hi)
    return desc


def run_chain(pcm: bytes, chunk: int = 8000) -> None:
    """spandsp's nearest to our chain: dtmf_rx, adsi_rx for Bell 202 (CLASS) and V.23 (CLIP),
    and super_tone_rx with every tone of the six countries; for timing."""
    lib = _lib()
    dtmf = lib.dtmf_rx_init(_ffi.NULL, _ffi.NULL, _ffi.NULL)
    bell = lib.adsi_rx_init(_ffi.NULL, ADSI_STANDARD_CLASS, _on_message, _ffi.NULL)
    v23 = lib.adsi_rx_init(_ffi.NULL, ADSI_STANDARD_CLIP, _on_message, _ffi.NULL)
    tones = lib.super_tone_rx_init(_ffi.NULL, _tone_descriptor(lib), _on_tone, _ffi.NULL)
    buf = _ffi.new("char[]", 129)
    total = len(pcm) // 2
    samples = _ffi.from_buffer("int16_t[]", pcm)
    for off in range(0, total, chunk):
        n = min(chunk, total - off)
        lib.dtmf_rx(dtmf, samples + off, n)
        lib.dtmf_rx_get(dtmf, buf, 128)
        lib.adsi_rx(bell, samples + off, n)
        lib.adsi_rx(v23, samples + off, n)
        lib.super_tone_rx(tones, samples + off, n)
    lib.dtmf_rx_free(dtmf)
    lib.adsi_rx_free(bell)
    lib.adsi_rx_free(v23)
    lib.super_tone_rx_free(tones)
