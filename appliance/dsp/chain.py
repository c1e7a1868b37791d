"""The line DSP chain: DTMF, caller ID (FSK and DTMF) and call-progress tones on one stream.

``LineDsp(rate).feed(pcm)`` feeds every detector the same 16-bit PCM chunk and
returns the INTERFACES.md §2 event dicts completed in it (``dtmf``, ``caller_id``,
``tone``), each with ``start``/``end`` in seconds from the stream's start. The
events found do not depend on how the audio is chunked; within one call they are
sorted by start.

DTMF digits that make up a DTMF caller-ID string are reported twice on purpose: as
the plain ``dtmf`` events the receiver heard and as one ``caller_id`` event (format
and modulation ``dtmf``). A consumer counting key presses and one looking for the
caller both see what they look for; the ``caller_id`` event's start/end span the
digits it was built from.

The caller-ID receiver lives in :mod:`appliance.dsp.callerid` (another module's
owner); it is imported when the chain is built, not when this module is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.tones import ToneDetector

SAMPLE_RATES = (8000, 16000)
Event = dict[str, Any]


def _event_key(event: Event) -> tuple[float, float, str]:
    return (float(event.get("start", 0.0)), float(event.get("end", 0.0)), str(event.get("type")))


class LineDsp:
    """Every line detector on one stream; no detector keeps more than its fixed state."""

    def __init__(
        self,
        sample_rate: int = 8000,
        *,
        country: str | None = None,
        prefer: str | None = None,
        tone_tables: Mapping[str, Any] | None = None,
        dtmf: bool = True,
        tones: bool = True,
        caller_id: bool = True,
    ) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"the line DSP runs at 8000 or 16000 Hz, not {sample_rate}")
        self.sample_rate = sample_rate
        self._dtmf = DtmfReceiver(sample_rate) if dtmf else None
        self._tones = ToneDetector(sample_rate, country=country, prefer=prefer, tables=tone_tables) if tones else None
        self._fsk: Any = None
        self._dtmf_cid: Any = None
        if caller_id:
            callerid = importlib.import_module("appliance.dsp.callerid")
            self._fsk = callerid.CallerIdReceiver(sample_rate)
            self._dtmf_cid = callerid.DtmfCallerIdAssembler()

    def feed(self, pcm: bytes) -> list[Event]:
        """Feed 16-bit little-endian mono PCM; returns the events completed in it."""
        events: list[Event] = []
        if self._dtmf is not None:
            events += self._digits(self._dtmf.feed(pcm))
        if self._fsk is not None:
            events += self._fsk.feed(pcm)
        if self._tones is not None:
            events += self._tones.feed(pcm)
        events.sort(key=_event_key)
        return events

    def flush(self) -> list[Event]:
        """End of stream: whatever is still open ends here."""
        events: list[Event] = []
        if self._dtmf is not None:
            events += self._digits(self._dtmf.flush())
        if self._dtmf_cid is not None:
            events += self._dtmf_cid.flush()
        if self._fsk is not None:
            events += self._fsk.flush()
        if self._tones is not None:
            events += self._tones.flush()
        events.sort(key=_event_key)
        return events

    def _digits(self, digits: list[Any]) -> list[Event]:
        events: list[Event] = []
        for d in digits:
            event = d.as_event(self.sample_rate)
            events.append(event)
            if self._dtmf_cid is not None:
                events += self._dtmf_cid.on_digit(d.digit, event["start"], event["end"])
        return events


def decode(pcm: bytes, sample_rate: int, **options: Any) -> list[Event]:
    """Every event in a whole recording, sorted by start."""
    dsp = LineDsp(sample_rate, **options)
    events = dsp.feed(pcm) + dsp.flush()
    events.sort(key=_event_key)
    return events
