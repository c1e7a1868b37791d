"""Results do not depend on how the audio is cut into chunks (Hypothesis picks the cuts)."""

from __future__ import annotations

from functools import cache

from conftest import feed_in_chunks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dsp.chain import LineDsp
from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.generator import cadence, dtmf_digits, silence
from appliance.dsp.testsignals import add_noise
from appliance.dsp.tones import ToneDetector


@cache
def _audio(rate: int) -> bytes:
    pcm = silence(0.13, rate) + dtmf_digits("A0401234567C", rate, on_ms=55, off_ms=45)
    pcm += cadence([425.0], -15, [0.24, 0.24], 2.2, rate) + silence(0.7, rate)
    pcm += dtmf_digits("1590", rate, on_ms=41, off_ms=41) + cadence([480.0, 620.0], -20, [0.5, 0.5], 2.6, rate)
    return add_noise(pcm, 30.0, 3000.0, seed=rate)


def _cuts(rate: int) -> st.SearchStrategy[list[int]]:
    n = len(_audio(rate))
    return st.lists(st.integers(min_value=0, max_value=n), max_size=40)


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cuts=_cuts(8000))
def test_dtmf_chunking_8k(cuts: list[int]) -> None:
    pcm = _audio(8000)
    assert feed_in_chunks(lambda: DtmfReceiver(8000), pcm, cuts) == feed_in_chunks(lambda: DtmfReceiver(8000), pcm, [])


@SETTINGS
@given(cuts=_cuts(16000))
def test_dtmf_chunking_16k(cuts: list[int]) -> None:
    pcm = _audio(16000)
    make = lambda: DtmfReceiver(16000)  # noqa: E731
    assert feed_in_chunks(make, pcm, cuts) == feed_in_chunks(make, pcm, [])


@SETTINGS
@given(cuts=_cuts(8000))
def test_tone_chunking(cuts: list[int]) -> None:
    pcm = _audio(8000)
    make = lambda: ToneDetector(8000)  # noqa: E731
    whole = feed_in_chunks(make, pcm, [])
    assert [e["tone"] for e in whole] == ["congestion", "busy"]
    assert feed_in_chunks(make, pcm, cuts) == whole


@SETTINGS
@given(cuts=_cuts(8000))
def test_chain_chunking(cuts: list[int]) -> None:
    pcm = _audio(8000)
    make = lambda: LineDsp(8000)  # noqa: E731
    whole = feed_in_chunks(make, pcm, [])
    assert sum(e["type"] == "dtmf" for e in whole) == 16
    assert sum(e["type"] == "caller_id" for e in whole) == 1
    assert feed_in_chunks(make, pcm, cuts) == whole


def test_byte_at_a_time_and_odd_lengths() -> None:
    pcm = _audio(8000)[: 2 * 8000 * 2]
    whole = feed_in_chunks(lambda: DtmfReceiver(8000), pcm, [])
    assert whole
    odd_cuts = list(range(1, len(pcm), 777))  # every chunk an odd number of bytes
    assert feed_in_chunks(lambda: DtmfReceiver(8000), pcm, odd_cuts) == whole
    rx = DtmfReceiver(8000)
    events = []
    for i in range(0, 4000):
        events += rx.feed(pcm[i : i + 1])
    events += rx.feed(pcm[4000:]) + rx.flush()
    assert [e.as_event(8000) for e in events] == whole
