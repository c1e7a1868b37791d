"""Call-progress tones (dial, ringback, busy, congestion) from per-country tables.

``native/progress.c`` finds "on" segments of each configured frequency set; this
module groups them into runs and matches each run's cadence against the tables.
With ``country=None`` (the default of ``appliance dsp decode``) every known table is
tried and the closest cadence wins, ties going to ``prefer`` (the configured country):
busy and congestion often share a frequency and differ only in cadence.

Country tables come from REFERENCE.md (Asterisk ``indications.conf``); more are added in
the config, one table per country, e.g.::

    [dsp.tones.NO]
    dial = {freqs = [425], cadence = []}
    ringback = {freqs = [425], cadence = [1.0, 4.0]}
    busy = {freqs = [425], cadence = [0.5, 0.5]}
    congestion = {freqs = [425], cadence = [0.25, 0.25]}

``freqs``: 1-3 frequencies in Hz (40-3900); ``cadence``: on/off seconds repeated, an
even number (2-8) of values 0.05-10 s, or empty for a continuous tone. A table for a
built-in country replaces the named tones only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance._native import ffi, lib
from appliance.dsp.tone_tables import (
    BUILTIN_TABLES,
    MAX_FREQS,
    MAX_SETS,
    ToneSpec,
    countries,
    load_tables,
    normalise_country,
)
from appliance.errors import ConfigError, UsageError

__all__ = ["BUILTIN_TABLES", "ToneDetector", "ToneSpec", "countries", "load_tables", "normalise_country"]

SAMPLE_RATES = (8000, 16000)
MAX_SAMPLES_PER_CALL = 8000  # 1 s per C call: at most 25 segments, the C buffer holds 64
CONTINUOUS_MIN_S = 2.5  # a single segment this long is a continuous tone
SINGLE_RING_MIN_ON_S = 0.8  # one lone segment is matched only against long "on" times
ABS_TOLERANCE_S = 0.03
REL_TOLERANCE = 0.15
EDGE_S = 0.05  # a segment this close to the stream's edge may be cut off
MIN_ELEMENTS_FOR_CUTS = 5  # on, off, on, off, on: then the outer bursts may be short
MIN_SEGMENT_S = 0.12  # shorter "on" segments are not tone bursts (speech, clicks)
GAP_SLACK = 1.3
GAP_EXTRA_S = 0.2
CONTINUOUS_GAP_S = 0.5
_TAKE = 64


@dataclass(frozen=True)
class Segment:
    start: float
    end: float


class ToneDetector:
    """Streaming call-progress tone detector; ``feed``/``flush`` return INTERFACES tone events."""

    def __init__(
        self,
        sample_rate: int = 8000,
        country: str | None = None,
        prefer: str | None = None,
        tables: Mapping[str, Any] | None = None,
    ) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"tone detector runs at 8000 or 16000 Hz, not {sample_rate}")
        specs = load_tables(tables)
        if country is not None:
            want = normalise_country(country)
            specs = [s for s in specs if s.country == want]
            if not specs:
                known = ", ".join(countries(load_tables(tables)))
                raise UsageError(f"no call-progress tone table for country {country!r} (known: {known})")
        self.sample_rate = sample_rate
        self.prefer = normalise_country(prefer) if prefer else None
        freq_list = sorted({f for s in specs for f in s.freqs})
        set_list = sorted({tuple(sorted(s.freqs)) for s in specs})
        if len(freq_list) > MAX_FREQS or len(set_list) > MAX_SETS:
            raise ConfigError(
                "dsp.tones",
                f"{len(freq_list)} frequencies in {len(set_list)} sets",
                f"at most {MAX_FREQS} distinct frequencies and {MAX_SETS} frequency sets in all tables",
            )
        self._sets = set_list
        self._specs_by_set = [[s for s in specs if tuple(sorted(s.freqs)) == fs] for fs in set_list]
        self._max_gap = []
        for group in self._specs_by_set:
            offs = [max(sp.cadence[1::2]) for sp in group if sp.cadence]
            self._max_gap.append(max(offs) * GAP_SLACK + GAP_EXTRA_S if offs else CONTINUOUS_GAP_S)
        p = ffi.new("progress_params *")
        lib.progress_default_params(p)
        p.n_freqs = len(freq_list)
        for i, f in enumerate(freq_list):
            p.freqs[i] = f
        p.n_sets = len(set_list)
        for i, fs in enumerate(set_list):
            p.set_mask[i] = sum(1 << freq_list.index(f) for f in fs)
        self._state = ffi.new("progress_state *")
        if lib.progress_init(self._state, sample_rate, p) != 0:
            raise ConfigError("dsp.tones", tables, "frequencies this sample rate can carry")
        self._events = ffi.new("progress_segment[]", _TAKE)
        self._runs: dict[int, list[Segment]] = {}
        self._odd = b""
        self._samples = 0

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        """Feed samples; returns the tones that ended (or were recognised) within them."""
        data = self._odd + pcm if self._odd else pcm
        usable = len(data) & ~1
        self._odd = bytes(data[usable:])
        out: list[dict[str, Any]] = []
        if not usable:
            return out
        samples = ffi.from_buffer("int16_t[]", data)
        total = usable // 2
        state = self._state
        for off in range(0, total, MAX_SAMPLES_PER_CALL):
            n = min(MAX_SAMPLES_PER_CALL, total - off)
            lib.progress_feed(state, samples + off, n)
            self._samples += n
            if state.n_events:
                self._drain()
            if self._runs:
                out += self._close_stale(self._samples / self.sample_rate)
        return out

    def flush(self) -> list[dict[str, Any]]:
        lib.progress_flush(self._state)
        self._drain()
        return self._close_stale(None)

    def _drain(self) -> None:
        n = lib.progress_take_events(self._state, self._events, _TAKE)
        for i in range(n):
            ev = self._events[i]
            seg = Segment(ev.start / self.sample_rate, ev.end / self.sample_rate)
            if seg.end - seg.start >= MIN_SEGMENT_S:
                self._runs.setdefault(int(ev.set), []).append(seg)

    def _close_stale(self, now: float | None) -> list[dict[str, Any]]:
        """Match the runs that can get no more segments (all of them at the end)."""
        out = []
        current = int(self._state.cur_set)
        for set_index in sorted(self._runs):
            run = self._runs[set_index]
            gap = self._max_gap[set_index]
            if now is not None and (current == set_index or now - run[-1].end <= gap):
                # a segment may have arrived after a long gap: split there
                cut = next((i for i in range(1, len(run)) if run[i].start - run[i - 1].end > gap), None)
                if cut is None:
                    continue
                done, self._runs[set_index] = run[:cut], run[cut:]
            else:
                done = run
                del self._runs[set_index]
            event = self._match(set_index, done, now)
            if event:
                out.append(event)
        out.sort(key=lambda e: e["start"])
        return out

    def _match(self, set_index: int, run: list[Segment], now: float | None) -> dict[str, Any] | None:
        stream_end = self._samples / self.sample_rate
        observed: list[float] = []
        for i, seg in enumerate(run):
            if i:
                observed.append(seg.start - run[i - 1].end)
            observed.append(seg.end - seg.start)
        cut_first = run[0].start <= EDGE_S
        cut_last = now is None and run[-1].end >= stream_end - EDGE_S
        best: tuple[float, int, ToneSpec] | None = None
        for spec in self._specs_by_set[set_index]:
            score = _score(spec.cadence, observed, cut_first, cut_last)
            if score is None:
                continue
            key = (score, 0 if spec.country == self.prefer else 1, spec)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is None:
            return None
        spec = best[2]
        return {
            "type": "tone",
            "tone": spec.name,
            "start": round(run[0].start, 3),
            "end": round(run[-1].end, 3),
            "country": spec.country,
        }


def _close(obs: float, want: float, may_be_short: bool) -> float | None:
    """Relative error of one on/off time, or None when out of tolerance."""
    tol = max(ABS_TOLERANCE_S, REL_TOLERANCE * want)
    if may_be_short and obs < want:
        return 0.0
    if abs(obs - want) > tol:
        return None
    return abs(obs - want) / want


def _score(cadence: tuple[float, ...], observed: list[float], cut_first: bool, cut_last: bool) -> float | None:
    """Mean relative error of ``observed`` (on, off, on, ...) against a cadence, or None."""
    if not cadence:
        if len(observed) == 1 and observed[0] >= CONTINUOUS_MIN_S:
            return 0.0
        return None
    if len(observed) == 1 and max(cadence[0::2]) < SINGLE_RING_MIN_ON_S:
        return None
    best: float | None = None
    n = len(observed)
    for phase in range(0, len(cadence), 2):
        errors = []
        for i, obs in enumerate(observed):
            want = cadence[(phase + i) % len(cadence)]
            # the first and last bursts may be cut off (recording edges, hang-up) when
            # whole cycles in between carry the match
            short_ok = (i == 0 and (cut_first or n >= MIN_ELEMENTS_FOR_CUTS)) or (
                i == n - 1 and (cut_last or n >= MIN_ELEMENTS_FOR_CUTS)
            )
            err = _close(obs, want, short_ok)
            if err is None:
                break
            errors.append(err)
        else:
            score = sum(errors) / len(errors)
            if best is None or score < best:
                best = score
    return best
