"""Call-progress tables against independently published values.

Each row below is typed from a published source (named in the row), not taken from
``appliance/dsp/tone_tables.py``: the test compares the product's table with it, and
then generates the published cadence with its own NumPy generator (not the product's
``generator.cadence``) and checks that the detector names it.

Sources:

- E180: ITU-T E.180 Supplement 2, "Various tones used in national networks" (the ITU's
  list of national tones; the Germany entry as reproduced in the PA1688 SDK's
  ``dialtone.txt``, whose list is that supplement's: "Busy tone - I 425 0.48 on 0.48
  off", ...). DAHDI's ``zonedata.c`` cites the same list (ITU "tones-0203", its 2003
  edition) for its China and Germany zones.
- DAHDI: dahdi-tools ``zonedata.c`` ("This information from ITU E.180 Supplement 2. UK
  information from BT SIN 350"), zones us, uk, fi, se, de, cn.
- SIN350: BT Suppliers' Information Note 350 (UK network tones), as quoted in DAHDI's
  UK zone ("From British Telecom SIN350 v1.2") and in the UK table of the
  "Radio-Frequency" textbook chapter on telephone tones (free-ebooks.net, p. 114:
  dial 350+440 Hz, ringing 400+450 Hz 0.4 on 0.2 off 0.4 on 2 s off, system busy
  400 Hz 0.4 on 0.35 off 0.225 on 0.525 off).
- NAPTP: the North American precise audible tone plan (ITU-T E.300-series Supplement
  3), as listed in "Telephone System Status Tones" (bit73.txt): dial 350+440 Hz
  continuous, busy 480+620 Hz 0.5/0.5 s, reorder 480+620 Hz 0.25/0.25 s, ringback
  440+480 Hz 2 s on 4 s off.
- FS: FreeSWITCH ``conf/vanilla/vars.xml`` ringback definitions (``us-ring``,
  ``uk-ring``, ``de-ring``, ``fi-ring``, ``cn-ring``; it has no Swedish one).
"""

from __future__ import annotations

import numpy as np
import pytest

from appliance.dsp.tone_tables import BUILTIN_TABLES
from appliance.dsp.tones import ToneDetector

# (country, tone, frequencies Hz, cadence s (on, off, ...; () = continuous), sources)
PUBLISHED: list[tuple[str, str, tuple[float, ...], tuple[float, ...], str]] = [
    ("US", "dial", (350, 440), (), "NAPTP; DAHDI us"),
    ("US", "ringback", (440, 480), (2.0, 4.0), "NAPTP; DAHDI us; FS us-ring"),
    ("US", "busy", (480, 620), (0.5, 0.5), "NAPTP; DAHDI us"),
    ("US", "congestion", (480, 620), (0.25, 0.25), "NAPTP (reorder); DAHDI us"),
    ("UK", "dial", (350, 440), (), "SIN350; DAHDI uk"),
    ("UK", "ringback", (400, 450), (0.4, 0.2, 0.4, 2.0), "SIN350; DAHDI uk; FS uk-ring"),
    ("UK", "busy", (400,), (0.375, 0.375), "SIN350 (DAHDI uk)"),
    ("UK", "congestion", (400,), (0.4, 0.35, 0.225, 0.525), "SIN350; DAHDI uk"),
    ("DE", "dial", (425,), (), "E180 Germany; DAHDI de"),
    ("DE", "ringback", (425,), (1.0, 4.0), "E180 Germany (ringing tone I); DAHDI de; FS de-ring"),
    ("DE", "busy", (425,), (0.48, 0.48), "E180 Germany (busy tone I); DAHDI de"),
    ("DE", "congestion", (425,), (0.24, 0.24), "E180 Germany (congestion tone I); DAHDI de"),
    ("FI", "dial", (425,), (), "E180 via DAHDI fi"),
    ("FI", "ringback", (425,), (1.0, 4.0), "E180 via DAHDI fi; FS fi-ring"),
    ("FI", "busy", (425,), (0.3, 0.3), "E180 via DAHDI fi"),
    ("FI", "congestion", (425,), (0.2, 0.2), "E180 via DAHDI fi"),
    ("SE", "dial", (425,), (), "E180 via DAHDI se"),
    ("SE", "ringback", (425,), (1.0, 5.0), "E180 via DAHDI se"),
    ("SE", "busy", (425,), (0.25, 0.25), "E180 via DAHDI se"),
    ("SE", "congestion", (425,), (0.25, 0.75), "E180 via DAHDI se"),
    ("CN", "dial", (450,), (), "E180 (tones-0203) via DAHDI cn"),
    ("CN", "ringback", (450,), (1.0, 4.0), "E180 (tones-0203) via DAHDI cn; FS cn-ring"),
    ("CN", "busy", (450,), (0.35, 0.35), "E180 (tones-0203) via DAHDI cn"),
    ("CN", "congestion", (450,), (0.7, 0.7), "E180 (tones-0203) via DAHDI cn"),
]
# The supplement's second variants for Germany (older exchanges): a German line may
# sound them, and the detector must still name the tone (the country it names may be
# another with that cadence on 425 Hz).
E180_GERMANY_VARIANTS = [
    ("busy", (425,), (0.5, 0.5), "E180 Germany (busy tone II)"),
    ("congestion", (425,), (0.2, 0.2), "E180 Germany (congestion tone II)"),
]
IDS = [f"{c}-{t}" for c, t, *_ in PUBLISHED]
RATE = 8000
LEVEL_DBM0 = -20.0  # per frequency


def published_signal(freqs: tuple[float, ...], pattern: tuple[float, ...], seconds: float,
                     rate: int = RATE, lead_s: float = 0.5, seed: int = 0) -> bytes:
    """The tone as published, made here: a sum of sines (random phases) switched on and
    off by the cadence, 5 ms raised-cosine edges, between silences."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    peak = 32767.0 * 10 ** ((LEVEL_DBM0 - 3.14) / 20)
    x = sum(peak * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in freqs)
    gate = np.ones(n)
    if pattern:
        gate[:] = 0.0
        edges = np.cumsum((0.0, *pattern * int(np.ceil(seconds / sum(pattern)) + 1)))
        for on_start, on_end in zip(edges[0::2], edges[1::2], strict=False):
            a, b = int(on_start * rate), min(n, int(on_end * rate))
            if a >= n:
                break
            gate[a:b] = 1.0
    ramp = int(0.005 * rate)
    window = np.convolve(gate, np.hanning(2 * ramp) / np.hanning(2 * ramp).sum(), mode="same")
    y = np.asarray(x) * window
    lead = np.zeros(int(lead_s * rate))
    out = np.concatenate([lead, y, np.zeros(int(1.5 * rate))])
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def _names(pcm: bytes, **kw: str) -> list[tuple[str, str]]:
    det = ToneDetector(RATE, **kw)
    events = []
    for off in range(0, len(pcm), 1600):
        events += det.feed(pcm[off : off + 1600])
    events += det.flush()
    return [(e["tone"], e.get("country", "")) for e in events]


@pytest.mark.parametrize(("country", "tone", "freqs", "pattern", "source"), PUBLISHED, ids=IDS)
def test_table_matches_published(country: str, tone: str, freqs: tuple[float, ...],
                                 pattern: tuple[float, ...], source: str) -> None:
    got_freqs, got_pattern = BUILTIN_TABLES[country][tone]
    assert tuple(map(float, got_freqs)) == tuple(map(float, freqs)), source
    assert tuple(map(float, got_pattern)) == tuple(map(float, pattern)), source


def test_every_builtin_tone_has_a_published_row() -> None:
    typed = {(c, t) for c, t, *_ in PUBLISHED}
    assert {(c, t) for c, table in BUILTIN_TABLES.items() for t in table} == typed


def _seconds(pattern: tuple[float, ...]) -> float:
    return max(8.0, 3 * sum(pattern)) if pattern else 4.0


@pytest.mark.parametrize(("country", "tone", "freqs", "pattern", "source"), PUBLISHED, ids=IDS)
def test_detector_names_the_published_cadence(country: str, tone: str, freqs: tuple[float, ...],
                                              pattern: tuple[float, ...], source: str) -> None:
    pcm = published_signal(freqs, pattern, _seconds(pattern), seed=len(IDS[0]) + len(tone))
    # told the country
    assert [name for name, _ in _names(pcm, country=country)] == [tone], source
    # told nothing: the right tone; the country is this one, or another whose table
    # has the same frequencies and cadence (DE and FI ringback are the same tone)
    events = _names(pcm)
    assert [name for name, _ in events] == [tone], (source, events)
    same = {c for c, table in BUILTIN_TABLES.items() if tone in table
            and tuple(map(float, table[tone][0])) == tuple(map(float, freqs))
            and tuple(map(float, table[tone][1])) == tuple(map(float, pattern))}
    assert events[0][1] in same


@pytest.mark.parametrize(("tone", "freqs", "pattern", "source"), E180_GERMANY_VARIANTS,
                         ids=[v[0] for v in E180_GERMANY_VARIANTS])
def test_second_german_variants_are_named(tone: str, freqs: tuple[float, ...],
                                          pattern: tuple[float, ...], source: str) -> None:
    pcm = published_signal(freqs, pattern, _seconds(pattern), seed=3)
    assert [name for name, _ in _names(pcm, prefer="DE")] == [tone], source
