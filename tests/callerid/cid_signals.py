"""Helpers of the caller-ID tests: signals with noise, chunked feeding.

(A module of its own, not conftest: tests/dsp has a conftest too, and
``from conftest import`` would find whichever was imported first.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import dbm0_to_peak, fsk_signal
from appliance.dsp.testsignals import add_noise, dbm0_rms

__all__ = ["add_noise", "dbm0_rms", "decode_chunked", "noisy_fsk", "pad"]


def pad(pcm: bytes, sample_rate: int, lead_s: float = 0.3, tail_s: float = 0.2) -> bytes:
    """Silence around a signal."""
    return bytes(2 * round(lead_s * sample_rate)) + pcm + bytes(2 * round(tail_s * sample_rate))


def noisy_fsk(
    message: bytes, *, modulation: str, sample_rate: int, level_dbm0: float = -13.0,
    snr_db: float | None = None, seed: int = 0, lead_s: float = 0.3, **kwargs: Any,
) -> bytes:
    """A padded FSK caller-ID signal with white noise ``snr_db`` below the signal (full band)."""
    rng = np.random.default_rng(seed)
    pcm = fsk_signal(message, modulation=modulation, sample_rate=sample_rate,
                     level_dbm0=level_dbm0, phase=float(rng.uniform(0, 2 * np.pi)), **kwargs)
    pcm = pad(pcm, sample_rate, lead_s=lead_s)
    if snr_db is not None:
        pcm = add_noise(pcm, snr_db, dbm0_rms(level_dbm0), seed)
    return pcm


def decode_chunked(pcm: bytes, sample_rate: int, sizes: Iterable[int] | None = None) -> list[dict]:
    """Feeds ``pcm`` in chunks of the given byte sizes (cycled), then flushes."""
    rx = CallerIdReceiver(sample_rate)
    if sizes is None:
        return rx.feed(pcm) + rx.flush()
    size_list = [s for s in sizes if s > 0] or [len(pcm)]
    events: list[dict] = []
    pos = 0
    i = 0
    while pos < len(pcm):
        step = size_list[i % len(size_list)]
        events += rx.feed(pcm[pos : pos + step])
        pos += step
        i += 1
    return events + rx.flush()


assert dbm0_to_peak(3.14) > 32766  # generator and test signals share the dBm0 scale
