"""The C DTMF receiver side by side with its NumPy (float64) reference."""

from __future__ import annotations

import numpy as np
import pytest
from dtmf_reference import analyse

from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.generator import DIGITS
from appliance.dsp.testsignals import add_noise, dbm0_rms, q24_matrix, sequence

TIME_SLACK = 3  # samples: float32 against float64 edge estimates


def _c(pcm: bytes, rate: int) -> list[tuple[str, int, int]]:
    rx = DtmfReceiver(rate)
    return [(d.digit, d.start, d.end) for d in rx.feed(pcm) + rx.flush()]


def _same(a: list[tuple[str, int, int]], b: list[tuple[str, int, int]]) -> bool:
    return [d for d, _, _ in a] == [d for d, _, _ in b] and all(
        abs(x[1] - y[1]) <= TIME_SLACK and abs(x[2] - y[2]) <= TIME_SLACK for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("rate", [8000, 16000])
def test_matrix_agrees_with_reference(rate: int) -> None:
    cases = [c for c in q24_matrix(rate, quick=True) if c.must != "may"]
    assert cases
    for case in cases:
        ref, _ = analyse(case.pcm, rate)
        assert _same(_c(case.pcm, rate), ref), f"{case.group} {case.label}"


@pytest.mark.parametrize("seed", range(6))
def test_noisy_digits_agree_with_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    digits = "".join(rng.choice(list(DIGITS), size=12))
    level = float(rng.uniform(-25, -5))
    pcm = sequence(digits, 8000, level=level, on_s=float(rng.uniform(0.045, 0.09)), twist=float(rng.uniform(-6, 3)))
    pcm = add_noise(pcm, 20.0, dbm0_rms(level) * 2**0.5, seed)
    ref, _ = analyse(pcm, 8000)
    got = _c(pcm, 8000)
    assert "".join(d for d, _, _ in got) == digits
    assert _same(got, ref)


def test_reference_explains_its_rejections() -> None:
    pcm = sequence("5", 8000, dev=0.03)
    digits, windows = analyse(pcm, 8000)
    assert digits == []
    assert any("freq" in w.reasons for w in windows)
