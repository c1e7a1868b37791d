"""The streaming chain: DTMF, DTMF caller ID and tones on one stream."""

from __future__ import annotations

import pytest

from appliance.dsp.chain import LineDsp, decode
from appliance.dsp.generator import cadence, dtmf_digits, silence


@pytest.mark.parametrize("rate", [8000, 16000])
def test_dtmf_caller_id_is_reported_with_its_digits(rate: int) -> None:
    pcm = silence(0.3, rate) + dtmf_digits("A0401234567C", rate) + silence(1.0, rate)
    events = decode(pcm, rate)
    cid = [e for e in events if e["type"] == "caller_id"]
    dtmf = [e for e in events if e["type"] == "dtmf"]
    assert "".join(e["digit"] for e in dtmf) == "A0401234567C"
    assert len(cid) == 1
    assert cid[0]["number"] == "0401234567"
    assert cid[0]["format"] == "dtmf" and cid[0]["modulation"] == "dtmf"
    assert cid[0]["start"] == dtmf[0]["start"] and cid[0]["end"] == dtmf[-1]["end"]


def test_events_sorted_by_start() -> None:
    rate = 8000
    pcm = cadence([425.0], -15, [0.48, 0.48], 3.0, rate) + dtmf_digits("12", rate) + silence(1, rate)
    events = decode(pcm, rate)
    assert [e["type"] for e in events] == ["tone", "dtmf", "dtmf"]
    assert [e["start"] for e in events] == sorted(e["start"] for e in events)


def test_detectors_can_be_switched_off() -> None:
    rate = 8000
    pcm = dtmf_digits("5", rate) + cadence([425.0], -15, [0.48, 0.48], 3.0, rate) + silence(1, rate)
    assert [e["type"] for e in decode(pcm, rate, tones=False)] == ["dtmf"]
    assert [e["type"] for e in decode(pcm, rate, dtmf=False, caller_id=False)] == ["tone"]


def test_refuses_other_rates() -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        LineDsp(44100)
