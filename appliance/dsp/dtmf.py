"""Streaming DTMF receiver over ``native/dtmf.c``.

``DtmfReceiver(rate).feed(pcm)`` takes 16-bit little-endian mono PCM chunks of any
size and returns the digits that ended in it; the results do not depend on how the
audio is cut into chunks. The C call releases the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance._native import ffi, lib

SAMPLE_RATES = (8000, 16000)
# At most this many samples per C call, so that the C event buffer (64 events)
# cannot overflow: 1 s at 16 kHz (2 s at 8 kHz) holds at most ~25 digits, 50 events.
MAX_SAMPLES_PER_CALL = 16000
EVENT_START = 1
EVENT_END = 2
_TAKE = 64


@dataclass(frozen=True)
class DtmfDigit:
    """One detected digit; ``start``/``end`` in samples from the stream's start."""

    digit: str
    start: int
    end: int

    def as_event(self, sample_rate: int) -> dict[str, object]:
        """The INTERFACES.md §2 event dict."""
        return {
            "type": "dtmf",
            "digit": self.digit,
            "start": round(self.start / sample_rate, 3),
            "end": round(self.end / sample_rate, 3),
        }


class DtmfReceiver:
    """One DTMF receiver state; no allocation per sample (the C state is allocated once)."""

    def __init__(self, sample_rate: int = 8000, **params: float) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"DTMF receiver runs at 8000 or 16000 Hz, not {sample_rate}")
        self.sample_rate = sample_rate
        p = ffi.new("dtmf_params *")
        lib.dtmf_rx_default_params(p)
        for name, value in params.items():
            if not hasattr(p, name):
                raise ValueError(f"unknown DTMF parameter {name!r}")
            setattr(p, name, value)
        self._state = ffi.new("dtmf_rx_state *")
        if lib.dtmf_rx_init(self._state, sample_rate, p) != 0:
            raise ValueError("bad DTMF receiver parameters")
        self._events = ffi.new("dtmf_event[]", _TAKE)
        self._odd = b""
        self.current: tuple[str, int] | None = None

    def feed(self, pcm: bytes) -> list[DtmfDigit]:
        """Feed samples; returns the digits that ended within them."""
        data = self._odd + pcm if self._odd else pcm
        usable = len(data) & ~1
        self._odd = bytes(data[usable:])
        out: list[DtmfDigit] = []
        if not usable:
            return out
        samples = ffi.from_buffer("int16_t[]", data)
        total = usable // 2
        state = self._state
        for off in range(0, total, MAX_SAMPLES_PER_CALL):
            lib.dtmf_rx_feed(state, samples + off, min(MAX_SAMPLES_PER_CALL, total - off))
            if state.n_events:
                self._drain(out)
        return out

    def flush(self) -> list[DtmfDigit]:
        """End of stream: the digit still sounding ends here."""
        lib.dtmf_rx_flush(self._state)
        out: list[DtmfDigit] = []
        self._drain(out)
        return out

    @property
    def dropped_events(self) -> int:
        """Events lost to a full C buffer (stays 0 with the bounded feed above)."""
        return int(self._state.dropped)

    def _drain(self, out: list[DtmfDigit]) -> None:
        n = lib.dtmf_rx_take_events(self._state, self._events, _TAKE)
        for i in range(n):
            ev = self._events[i]
            digit = chr(ev.digit)
            if ev.kind == EVENT_START:
                self.current = (digit, int(ev.start))
            else:
                self.current = None
                out.append(DtmfDigit(digit, int(ev.start), int(ev.end)))


def decode_digits(pcm: bytes, sample_rate: int = 8000) -> list[DtmfDigit]:
    """Every digit in a whole recording."""
    rx = DtmfReceiver(sample_rate)
    return rx.feed(pcm) + rx.flush()
