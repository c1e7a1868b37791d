"""Pure-Python (NumPy, float64) reference of the DTMF receiver in ``native/dtmf.c``.

The same method written the plain way: sub-block DFTs by direct summation (not the
Goertzel recursion), windows of two sub-blocks, the leakage-removing 2x2 solve, the
same checks and the same start/end state machine. test_reference.py runs it side by
side with the C code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FREQS = np.array([697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0])
KEYS = "123A456B789C*0#D"
IN_SPEC_DEV = 0.015
PRECHECK = 0.4
HARMONIC_CLEARANCE_HZ = 100.0
OCTAVE_MIN_RATIO, OCTAVE_MAX_RATIO = 1.96, 2.04
OCTAVE_LOCK_HZ = 8.0
SUBHARMONIC_DB = -25.0


@dataclass
class Params:
    """Mirror of ``dtmf_params`` and its defaults in dtmf.c."""

    min_level_dbm0: float = -45.0
    normal_twist_db: float = 9.0
    reverse_twist_db: float = 5.0
    relative_peak_db: float = 8.0
    min_tone_ratio: float = 0.85
    min_cont_ratio: float = 0.55
    max_freq_dev: float = 0.022
    max_harmonic_db: float = 10.0
    max_balance_db: float = 3.0
    max_dev_spread: float = 0.02
    max_level_spread_db: float = 3.0
    start_windows: int = 4
    start_gaps: int = 1
    end_windows: int = 4


@dataclass
class Window:
    """One window's judgement (for debugging and for comparisons)."""

    start: int
    hit: int
    reasons: list[str] = field(default_factory=list)
    meas: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def _p(db: float) -> float:
    return 10 ** (db / 10)


def _kernel(w: np.ndarray, n: int) -> np.ndarray:
    d = w[:, None] - w[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        mag = np.sin(0.5 * d * n) / (n * np.sin(0.5 * d))
    k = mag * np.exp(0.5j * d * (n - 1))
    np.fill_diagonal(k, 1.0)
    return k


def _unmix(kern: np.ndarray, w: np.ndarray, r: int, c: int) -> tuple[complex, complex]:
    a, b = kern[c, r], kern[r, c]
    det = 1 - a * b
    return (w[r] - a * w[c]) / det, (w[c] - b * w[r]) / det


def _gain(d: float, n: int) -> float:
    half = 0.5 * d
    if abs(half) < 1e-6:
        return 1.0
    g = (math.sin(half * n) / (n * math.sin(half))) ** 2
    return max(g, 0.2)


def _note_below_octave(ring: np.ndarray, rate: int, r: int, c: int, devs: list[float]) -> bool:
    """Two partials of one note an octave apart: measured ratio within 2 % of 2:1 and,
    Hann-windowed, energy at half the row frequency at most 25 dB under the row's."""
    fr = FREQS[r] * (1 + devs[0])
    ratio = FREQS[c] * (1 + devs[1]) / fr
    if not OCTAVE_MIN_RATIO <= ratio <= OCTAVE_MAX_RATIO:
        return False
    n = np.arange(len(ring))
    hann = np.hanning(len(ring) + 2)[1:-1]

    def energy(f: float) -> float:
        return float(abs((ring * hann * np.exp(-2j * np.pi * f / rate * n)).sum()) ** 2)

    return energy(fr / 2) > energy(fr) * _p(SUBHARMONIC_DB)


def _locked_octave(cand: int, cand_min: np.ndarray, cand_max: np.ndarray, psi: complex, psi_start: complex,
                   k: int, sub: int, rate: int) -> bool:
    """The column tone phase-locked an octave above the row tone over the candidate:
    f_col - 2 f_row from the turn of col * conj(row)^2 across k sub-blocks, the whole
    turns counted from the windows' frequency estimates; under OCTAVE_LOCK_HZ."""
    r, c = cand // 4, 4 + cand % 4
    if c - 4 != r + 1 or r > 2 or k <= 0:
        return False
    dr, dc = 0.5 * (cand_min[0] + cand_max[0]), 0.5 * (cand_min[1] + cand_max[1])
    coarse_hz = FREQS[c] * (1 + dc) - 2 * FREQS[r] * (1 + dr)
    span = sub * k
    predicted = 2 * np.pi * coarse_hz * span / rate
    fine = float(np.angle(psi * np.conj(psi_start)))
    turns = round((predicted - fine) / (2 * np.pi))
    hz = (fine + 2 * np.pi * turns) * rate / (2 * np.pi * span)
    return bool(abs(hz) < OCTAVE_LOCK_HZ)


def analyse(pcm: bytes, rate: int, p: Params | None = None) -> tuple[list[tuple[str, int, int]], list[Window]]:
    """Digits (digit, start, end in samples) and the per-window judgements."""
    p = p or Params()
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    sub = round(0.006375 * rate)
    n_sub = len(x) // sub
    w = 2 * np.pi * FREQS / rate
    blocks = x[: n_sub * sub].reshape(n_sub, sub)
    y = blocks @ np.exp(-1j * np.outer(w, np.arange(sub))).T  # Y_b(w) = sum x[n] e^{-jwn}
    e_sub = (blocks**2).sum(axis=1)
    amp = 32767 * 10 ** ((p.min_level_dbm0 - 3.14) / 20)
    min_e = (amp * sub) ** 2
    rot = np.exp(-1j * w * sub)
    kern_win, kern_sub = _kernel(w, 2 * sub), _kernel(w, sub)
    digits: list[tuple[str, int, int]] = []
    windows: list[Window] = []
    cand, cand_count, cand_start, cand_gaps = -1, 0, 0, 0
    cand_min = cand_max = np.zeros(4)
    cand_psi, cand_psi_b = 0j, 0
    cur, misses, ref, cur_start, strong_end, tail, after = -1, 0, 0.0, 0, 0, 0, False
    for b in range(1, n_sub):
        pos = (b + 1) * sub
        win = y[b - 1] + rot * y[b]
        we = np.abs(win) ** 2
        e_win = e_sub[b - 1] + e_sub[b]
        r, c = int(np.argmax(we[:4])), 4 + int(np.argmax(we[4:]))
        reasons: list[str] = []
        meas = (0.0, 0.0, 0.0, 0.0)
        psi = 0j
        if max(e_sub[b], e_sub[b - 1]) > min(e_sub[b], e_sub[b - 1]) * _p(p.max_balance_db):
            reasons.append("balance")
        elif we[r] < min_e or we[c] < min_e:
            reasons.append("level")
        elif we[r] + we[c] < PRECHECK * p.min_tone_ratio * sub * e_win:
            reasons.append("ratio")
        else:
            ur, uc = _unmix(kern_win, win, r, c)
            row, col = abs(ur) ** 2, abs(uc) ** 2
            for best, lo, be in ((r, 0, row), (c, 4, col)):
                for k in range(lo, lo + 4):
                    rest = win[k] - ur * kern_win[r, k] - uc * kern_win[c, k]
                    if k != best and abs(rest) ** 2 * _p(p.relative_peak_db) > be:
                        reasons.append("peak")
            if not reasons:
                ar, ac = _unmix(kern_sub, y[b - 1], r, c)
                br, bc = _unmix(kern_sub, y[b], r, c)
                psi = bc * np.conj(br) ** 2
                devs = []
                corr = [row, col]
                for i, (k, adv) in enumerate(((r, br * np.conj(ar) * rot[r]), (c, bc * np.conj(ac) * rot[c]))):
                    d = float(np.angle(adv)) / sub
                    if abs(d) > p.max_freq_dev * w[k]:
                        reasons.append("freq")
                    lim = IN_SPEC_DEV * w[k]
                    corr[i] /= _gain(d if abs(d) < lim else lim, 2 * sub)
                    devs.append(d / w[k])
                row, col = corr
                meas = (devs[0], devs[1], row, col)
                if not reasons:
                    if col > row * _p(p.reverse_twist_db) or row > col * _p(p.normal_twist_db):
                        reasons.append("twist")
                    elif row + col < p.min_tone_ratio * sub * e_win:
                        reasons.append("ratio")
                    else:
                        ring = x[pos - 2 * sub : pos]
                        nn = np.arange(2 * sub)

                        def harm(k: int, ring: np.ndarray = ring, nn: np.ndarray = nn) -> float:
                            return float(abs((ring * np.exp(-2j * w[k] * nn)).sum()) ** 2)

                        f2 = 2 * FREQS[r]
                        if harm(c) > col * _p(-p.max_harmonic_db) or (
                            abs(f2 - FREQS[c]) >= HARMONIC_CLEARANCE_HZ
                            and f2 < rate / 2
                            and harm(r) > row * _p(-p.max_harmonic_db)
                        ):
                            reasons.append("harmonic")
                        elif _note_below_octave(ring, rate, r, c, devs):
                            reasons.append("octave")
        hit = -1 if reasons else r * 4 + (c - 4)
        windows.append(Window(pos - 2 * sub, hit, reasons, meas))
        if cur >= 0:
            e_new = e_sub[b]
            if e_new >= 0.5 * ref:
                ref += 0.125 * (e_new - ref)
            if e_new >= 0.9 * ref:
                strong_end, tail, after = pos, 0, False
            elif not after:
                tail, after = round(sub * min(1.0, e_new / ref)), True
            cr, cc = cur // 4, 4 + cur % 4
            cont = (
                int(np.argmax(we[:4])) == cr
                and 4 + int(np.argmax(we[4:])) == cc
                and we[cr] >= 0.5 * min_e
                and we[cc] >= 0.5 * min_e
                and not we[cc] > we[cr] * 2 * _p(p.reverse_twist_db)
                and not we[cr] > we[cc] * 2 * _p(p.normal_twist_db)
                and we[cr] + we[cc] >= p.min_cont_ratio * sub * e_win
            )
            if cont:
                misses = 0
            else:
                misses += 1
                if misses >= p.end_windows:
                    digits.append((KEYS[cur], cur_start, strong_end + tail))
                    cur = -1
        if hit >= 0 and hit != cur:
            if hit == cand and cand_count < p.start_windows:
                cand_count += 1
                cand_min, cand_max = np.minimum(cand_min, meas), np.maximum(cand_max, meas)
                steady = (cand_max[:2] - cand_min[:2] <= p.max_dev_spread).all() and (
                    cand_max[2:] <= cand_min[2:] * _p(p.max_level_spread_db)
                ).all()
                if cand_count == p.start_windows and (
                    not steady or _locked_octave(cand, cand_min, cand_max, psi, cand_psi, b - cand_psi_b, sub, rate)
                ):
                    cand_count = 0
            if hit != cand or cand_count == 0:
                e_old, e_new = e_sub[b - 1], e_sub[b]
                rf = max(e_old, e_new)
                f_old = e_old / rf if rf > 0 else 1.0
                start = pos - 2 * sub + round(sub * (1 - f_old))
                if f_old > 0.9 and b >= 2:
                    start -= round(sub * min(1.0, e_sub[b - 2] / rf))
                cand, cand_count, cand_start, cand_gaps = hit, 1, max(0, start), 0
                cand_min = cand_max = np.array(meas)
                cand_psi, cand_psi_b = psi, b
            if cand_count >= p.start_windows:
                if cur >= 0:
                    digits.append((KEYS[cur], cur_start, min(strong_end + tail, cand_start)))
                cur, cur_start, misses = cand, cand_start, 0
                ref = max(e_sub[b], e_sub[b - 1])
                strong_end, tail, after = pos, 0, False
                cand, cand_count = -1, 0
        elif hit < 0 and cand_count > 0 and cand_gaps < p.start_gaps:
            cand_gaps += 1
        else:
            cand, cand_count = -1, 0
    if cur >= 0:
        end = len(x) if (misses == 0 and not after) else strong_end + tail
        digits.append((KEYS[cur], cur_start, end))
    return digits, windows
