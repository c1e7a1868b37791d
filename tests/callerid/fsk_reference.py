"""A plain NumPy reference of the caller-ID FSK demodulator, to test the C code against.

Same mathematics as ``native/fsk.c``, written the obvious way: DC blocker, one-baud
complex correlators summed from scratch (cumulative sums in float64), the normalised
statistic d = (|M|^2 - |S|^2) / (|M|^2 + |S|^2), and a simple UART (start edge at the
interpolated zero crossing of d, bits read at their centres) that delimits messages
after a mark run. It has none of the C receiver's refinements (parallel start-bit
candidates, predicted edges, flywheel), so the C receiver must decode at least what
this one decodes.
"""

from __future__ import annotations

import numpy as np

BAUD = 1200.0
FREQS = {"bell202": (1200.0, 2200.0), "v23": (1300.0, 2100.0)}
MESSAGE_TYPES = frozenset({0x04, 0x06, 0x80, 0x82, 0x86, 0x89})
MIN_LEAD_MARK_BITS = 10.0
SPACE_RUN_FRACTION = 0.5


def dc_block(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """y[n] = x[n] - x[n-1] + (1 - 2^-s) y[n-1], rounded and clipped like the C code."""
    shift = 6 if sample_rate == 8000 else 7
    pole = 1.0 - 2.0**-shift
    y = np.empty(len(x), dtype=np.float64)
    prev_x = 0.0
    prev_y = 0.0
    for i, v in enumerate(x.astype(np.float64)):
        prev_y = v - prev_x + pole * prev_y
        prev_x = v
        y[i] = prev_y
    return np.clip(np.floor(y + 0.5), -32767, 32767)


def statistic(pcm: bytes, sample_rate: int, modulation: str) -> np.ndarray:
    """d for every sample: +1 pure mark, -1 pure space (window ending at that sample)."""
    x = np.frombuffer(pcm, dtype="<i2")
    y = dc_block(x, sample_rate)
    window = round(sample_rate / BAUD)
    k = np.arange(len(y))
    energies = []
    for freq in FREQS[modulation]:
        z = y * np.exp(-2j * np.pi * freq * k / sample_rate)
        c = np.concatenate([[0], np.cumsum(z)])
        s = c[window:] - c[:-window]
        s = np.concatenate([np.cumsum(z[: window - 1]), s])  # the first, partial windows
        energies.append(np.abs(s) ** 2)
    em, es = energies
    total = em + es
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(total > 0, (em - es) / total, 0.0)
    return d


def _at(d: np.ndarray, t: float) -> float:
    i = int(np.ceil(t))
    if i <= 0 or i >= len(d):
        return 0.0
    frac = t - (i - 1)
    return float(d[i - 1] + (d[i] - d[i - 1]) * frac)


def decode(pcm: bytes, sample_rate: int, modulation: str) -> list[bytes]:
    """Messages (type, length, data, checksum) whose checksum is right."""
    d = statistic(pcm, sample_rate, modulation)
    baud = sample_rate / BAUD
    space_run_len = int(np.ceil(SPACE_RUN_FRACTION * baud))
    messages: list[bytes] = []
    mark_run_start = 0.0
    space_run = 0
    n = 1
    buf: list[int] = []
    expected = 0
    while n < len(d):
        if d[n] < 0:
            space_run += 1
            if space_run >= space_run_len and not buf:
                mark_run_start = float(n)
        else:
            space_run = 0
        falling = d[n - 1] >= 0 > d[n]
        if not falling:
            n += 1
            continue
        edge = (n - 1) + d[n - 1] / (d[n - 1] - d[n])
        if not buf and (edge - mark_run_start) / baud < MIN_LEAD_MARK_BITS:
            n += 1
            continue
        centres = [edge + baud / 2 + i * baud for i in range(10)]
        if centres[-1] >= len(d) - 1:
            break
        bits = [_at(d, t) > 0 for t in centres]
        if bits[0]:  # false start
            n += 1
            continue
        value = sum(1 << i for i, b in enumerate(bits[1:9]) if b)
        if not buf:
            if not bits[9] or value not in MESSAGE_TYPES:
                n += 1
                continue
            buf = [value]
        else:
            buf.append(value)
            if len(buf) == 2:
                expected = value + 3
            elif len(buf) == expected:
                if sum(buf) % 256 == 0:
                    messages.append(bytes(buf))
                buf = []
                mark_run_start = float(n)
        n = int(np.ceil(centres[9]))
    return messages
