"""The Q.24 / ETSI ES 201 235-3 receiver matrix, generated here, at 8 and 16 kHz.

Every "detect" row must find all its digits and nothing else; every "reject" row must
find nothing. "may" rows (between the limits) are only printed.
"""

from __future__ import annotations

import pytest

from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.testsignals import q24_matrix, score

RATES = [8000, 16000]


def _run(pcm: bytes, rate: int) -> str:
    rx = DtmfReceiver(rate)
    return "".join(d.digit for d in rx.feed(pcm) + rx.flush())


@pytest.mark.parametrize("rate", RATES)
def test_q24_matrix(rate: int) -> None:
    failures = []
    for case in q24_matrix(rate):
        got = _run(case.pcm, rate)
        found, extra = score(case.digits, got)
        if case.must == "detect" and (found < len(case.digits) or extra):
            failures.append(f"{case.group} {case.label}: found {found}/{len(case.digits)}, {extra} extra ({got!r})")
        if case.must == "reject" and got:
            failures.append(f"{case.group} {case.label}: should find nothing, found {got!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("rate", RATES)
def test_digit_start_and_end_are_reported(rate: int) -> None:
    from appliance.dsp.generator import dtmf_tone, silence

    pcm = silence(0.3137, rate) + dtmf_tone("5", 0.0813, rate) + silence(0.2, rate)
    rx = DtmfReceiver(rate)
    digits = rx.feed(pcm) + rx.flush()
    assert [d.digit for d in digits] == ["5"]
    assert digits[0].start / rate == pytest.approx(0.3137, abs=0.002)
    assert digits[0].end / rate == pytest.approx(0.3137 + 0.0813, abs=0.002)


def test_current_digit_is_known_before_it_ends() -> None:
    from appliance.dsp.generator import dtmf_tone, silence

    rx = DtmfReceiver(8000)
    assert rx.feed(silence(0.1, 8000) + dtmf_tone("#", 0.2, 8000)) == []
    assert rx.current is not None and rx.current[0] == "#"
    assert [d.digit for d in rx.feed(silence(0.1, 8000))] == ["#"]
    assert rx.current is None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        DtmfReceiver(11025)
    with pytest.raises(ValueError, match="unknown DTMF parameter"):
        DtmfReceiver(8000, no_such_thing=1.0)
    with pytest.raises(ValueError, match="bad DTMF"):
        DtmfReceiver(8000, start_windows=0)


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_q24_matrix_through_g711(codec: str) -> None:
    from appliance.codecs import g711

    encode, decode = (g711.ulaw_encode, g711.ulaw_decode) if codec == "ulaw" else (g711.alaw_encode, g711.alaw_decode)
    for case in q24_matrix(8000):
        if case.must == "may":
            continue
        got = _run(decode(encode(case.pcm)), 8000)
        found, extra = score(case.digits, got)
        if case.must == "detect":
            assert (found, extra) == (len(case.digits), 0), f"{case.group} {case.label}: {got!r}"
        else:
            assert got == "", f"{case.group} {case.label}: {got!r}"
