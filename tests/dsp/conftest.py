"""Shared helpers of the line DSP tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.dsp.chain import LineDsp
from appliance.dsp.dtmf import DtmfReceiver

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the NumPy reference lives here
    sys.path.insert(0, str(HERE))


def digits_of(pcm: bytes, rate: int = 8000, **params: float) -> str:
    """The digit string the C receiver finds in a whole recording."""
    rx = DtmfReceiver(rate, **params)
    return "".join(d.digit for d in rx.feed(pcm) + rx.flush())


def feed_in_chunks(make: Callable[[], Any], pcm: bytes, cuts: list[int]) -> list[dict[str, Any]]:
    """Feed ``pcm`` cut at the given byte offsets into a fresh detector; every event, sorted."""
    det = make()
    events: list[dict[str, Any]] = []
    prev = 0
    for cut in [*sorted(cuts), len(pcm)]:
        events += _as_dicts(det.feed(pcm[prev:cut]), det)
        prev = cut
    events += _as_dicts(det.flush(), det)
    return sorted(events, key=lambda e: (e["start"], e["end"], str(e.get("type")), str(e.get("digit"))))


def _as_dicts(items: list[Any], det: object) -> list[dict[str, Any]]:
    rate = getattr(det, "sample_rate", 8000)
    return [i if isinstance(i, dict) else i.as_event(rate) for i in items]


def chain(rate: int = 8000) -> LineDsp:
    return LineDsp(rate)
