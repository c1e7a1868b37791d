"""Call-progress tones: every built-in country and tone, any-country matching, config tables."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from appliance.dsp.generator import cadence, silence
from appliance.dsp.testsignals import add_noise, dbm0_rms, real_speech
from appliance.dsp.tones import BUILTIN_TABLES, ToneDetector, load_tables
from appliance.errors import ConfigError, UsageError

CASES = [(c, name, f, cad) for c, t in BUILTIN_TABLES.items() for name, (f, cad) in t.items()]


def _detect(pcm: bytes, rate: int, **kw: Any) -> list[dict[str, Any]]:
    det = ToneDetector(rate, **kw)
    out = []
    for off in range(0, len(pcm), 3202):
        out += det.feed(pcm[off : off + 3202])
    return out + det.flush()


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize(("country", "name", "freqs", "pattern"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_tone_of_every_country(
    country: str, name: str, freqs: tuple[float, ...], pattern: tuple[float, ...], rate: int
) -> None:
    rnd = random.Random(f"{country}{name}{rate}")
    lead = rnd.uniform(0.05, 1.0)
    total = 6.0 if pattern else 4.0
    pcm = silence(lead, rate) + cadence(freqs, -18, pattern, total, rate) + silence(1.5, rate)
    # any country (the default of `appliance dsp decode`): the right name
    events = _detect(pcm, rate)
    assert [e["tone"] for e in events] == [name], events
    assert events[0]["start"] == pytest.approx(lead, abs=0.02)
    assert events[0]["end"] <= lead + total + 0.02
    # the country's own table
    assert [e["tone"] for e in _detect(pcm, rate, country=country)] == [name]


def test_busy_and_congestion_share_a_frequency_and_differ_by_cadence() -> None:
    de_busy = cadence([425.0], -15, [0.48, 0.48], 5, 8000)
    de_congestion = cadence([425.0], -15, [0.24, 0.24], 5, 8000)
    assert [e["tone"] for e in _detect(de_busy, 8000, country="DE")] == ["busy"]
    assert [e["tone"] for e in _detect(de_congestion, 8000, country="DE")] == ["congestion"]
    # Finland's table has neither cadence: nothing is claimed
    assert _detect(de_busy, 8000, country="FI") == []


def test_preferred_country_breaks_ties() -> None:
    sweden_congestion = cadence([425.0], -15, [0.25, 0.75], 6, 8000)
    events = _detect(sweden_congestion, 8000, prefer="SE")
    assert [(e["tone"], e["country"]) for e in events] == [("congestion", "SE")]


def test_tones_in_noise() -> None:
    pcm = cadence([480.0, 620.0], -25, [0.5, 0.5], 5, 8000)
    noisy = add_noise(pcm, 10.0, dbm0_rms(-25) * 2**0.5, seed=3)
    assert [e["tone"] for e in _detect(noisy, 8000)] == ["busy"]


def test_speech_is_not_a_tone() -> None:
    speech = real_speech(600)
    if not speech:
        pytest.skip("asterisk-core-sounds-en-wav is not installed")
    assert _detect(speech, 8000) == []


def test_config_adds_a_country_and_overrides_a_tone() -> None:
    tables = {
        "NO": {"busy": {"freqs": [425], "cadence": [0.5, 0.5]}, "dial": {"freqs": [425], "cadence": []}},
        "FI": {"busy": {"freqs": [425], "cadence": [0.6, 0.6]}},
    }
    specs = {(s.country, s.name): s for s in load_tables(tables)}
    assert specs[("NO", "busy")].cadence == (0.5, 0.5)
    assert specs[("FI", "busy")].cadence == (0.6, 0.6)
    assert specs[("FI", "congestion")].cadence == (0.2, 0.2)  # untouched
    pcm = cadence([425.0], -15, [0.6, 0.6], 5, 8000)
    assert [e["tone"] for e in _detect(pcm, 8000, country="FI", tables=tables)] == ["busy"]
    assert [
        (e["country"]) for e in _detect(cadence([425.0], -15, [0.5, 0.5], 5, 8000), 8000, country="NO", tables=tables)
    ] == ["NO"]


@pytest.mark.parametrize(
    ("tables", "match"),
    [
        ({"NOR": {}}, "two-letter"),
        ({"NO": {"busy": {"freqs": [425, 1, 2, 3]}}}, "freqs"),
        ({"NO": {"busy": {"freqs": [20]}}}, "freqs"),
        ({"NO": {"busy": {"freqs": [425], "cadence": [0.5]}}}, "cadence"),
        ({"NO": {"busy": {"freqs": [425], "cadence": [0.5, 99]}}}, "cadence"),
        ({"NO": {"busy": {"freqs": [425], "level": 3}}}, "freqs = "),
        ({"NO": {"Busy Tone": {"freqs": [425]}}}, "tone names"),
        ({"NO": "busy"}, "table of tones"),
    ],
)
def test_bad_config_tables_name_the_key(tables: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        load_tables(tables)
    assert "dsp.tones" in str(err.value)


def test_too_many_frequencies_are_refused() -> None:
    tables = {f"X{chr(65 + i)}": {"busy": {"freqs": [1000 + 10 * i], "cadence": [0.5, 0.5]}} for i in range(12)}
    with pytest.raises(ConfigError, match="at most 16"):
        ToneDetector(8000, tables=tables)


def test_unknown_country_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no call-progress tone table"):
        ToneDetector(8000, country="ZZ")


def test_config_file_checks_dsp_tones(tmp_path: Path) -> None:
    from appliance.config import load_config

    good = tmp_path / "good.toml"
    good.write_text("[modem]\ndriver = 'none'\n[line]\ndriver = 'none'\n"
                   "[dsp.tones.NO]\nbusy = {freqs = [425], cadence = [0.5, 0.5]}\n")
    assert load_config(str(good), environ={}).dsp.tones["NO"]["busy"]["freqs"] == [425]
    bad = tmp_path / "bad.toml"
    bad.write_text("[modem]\ndriver = 'none'\n[line]\ndriver = 'none'\n"
                   "[dsp.tones.NO]\nbusy = {freqs = [425], cadence = [0.5]}\n")
    with pytest.raises(ConfigError, match=r"dsp\.tones"):
        load_config(str(bad), environ={})


@pytest.mark.parametrize(("level", "deviation"), [(-40.0, 0.0), (-20.0, 0.01), (-20.0, -0.01), (0.0, 0.0)])
def test_quiet_and_off_nominal_tones(level: float, deviation: float) -> None:
    for country, table in BUILTIN_TABLES.items():
        for name, (freqs, pattern) in table.items():
            shifted = [f * (1 + deviation) for f in freqs]
            pcm = silence(0.3, 8000) + cadence(shifted, level, pattern, 6.0, 8000) + silence(1.0, 8000)
            assert [e["tone"] for e in _detect(pcm, 8000, country=country)] == [name], (country, name)


def test_far_off_frequency_is_not_a_tone() -> None:
    pcm = cadence([425.0 * 1.1], -15, [0.48, 0.48], 5, 8000)  # 467 Hz: no table has it
    assert _detect(pcm, 8000) == []
