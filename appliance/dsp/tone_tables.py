"""Call-progress tone tables: the built-in countries and the ``dsp.tones`` config format.

Pure data and validation (no C), so that the configuration can check ``dsp.tones`` when
it is loaded. The format is described in docs/DSP.md and in :mod:`appliance.dsp.tones`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.errors import ConfigError

MAX_FREQS = 16  # what native/progress.c holds
MAX_SETS = 16

BUILTIN_TABLES: dict[str, dict[str, tuple[tuple[float, ...], tuple[float, ...]]]] = {
    "US": {
        "dial": ((350, 440), ()),
        "ringback": ((440, 480), (2.0, 4.0)),
        "busy": ((480, 620), (0.5, 0.5)),
        "congestion": ((480, 620), (0.25, 0.25)),
    },
    "UK": {
        "dial": ((350, 440), ()),
        "ringback": ((400, 450), (0.4, 0.2, 0.4, 2.0)),
        "busy": ((400,), (0.375, 0.375)),
        "congestion": ((400,), (0.4, 0.35, 0.225, 0.525)),
    },
    "DE": {
        "dial": ((425,), ()),
        "ringback": ((425,), (1.0, 4.0)),
        "busy": ((425,), (0.48, 0.48)),
        "congestion": ((425,), (0.24, 0.24)),
    },
    "FI": {
        "dial": ((425,), ()),
        "ringback": ((425,), (1.0, 4.0)),
        "busy": ((425,), (0.3, 0.3)),
        "congestion": ((425,), (0.2, 0.2)),
    },
    "SE": {
        "dial": ((425,), ()),
        "ringback": ((425,), (1.0, 5.0)),
        "busy": ((425,), (0.25, 0.25)),
        "congestion": ((425,), (0.25, 0.75)),
    },
    "CN": {
        "dial": ((450,), ()),
        "ringback": ((450,), (1.0, 4.0)),
        "busy": ((450,), (0.35, 0.35)),
        "congestion": ((450,), (0.7, 0.7)),
    },
}
COUNTRY_ALIASES = {"GB": "UK"}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TONE_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")


@dataclass(frozen=True)
class ToneSpec:
    """One tone of one country."""

    country: str
    name: str
    freqs: tuple[float, ...]
    cadence: tuple[float, ...]


def normalise_country(code: str) -> str:
    """ISO alpha-2, upper case; GB is the UK table."""
    c = code.strip().upper()
    return COUNTRY_ALIASES.get(c, c)


def _parse_tone(country: str, name: str, value: Any) -> ToneSpec:
    where = f"dsp.tones.{country}.{name}"
    if not _TONE_NAME.match(name):
        raise ConfigError(where, value, "tone names are lower-case words (dial, ringback, busy, congestion)")
    if not isinstance(value, Mapping) or set(value) - {"freqs", "cadence"} or "freqs" not in value:
        raise ConfigError(where, value, "{freqs = [Hz, ...], cadence = [on, off, ...]}")
    freqs, cad = value["freqs"], value.get("cadence", [])
    if (
        not isinstance(freqs, list)
        or not 1 <= len(freqs) <= 3
        or not all(isinstance(f, (int, float)) and 40 <= f <= 3900 for f in freqs)
    ):
        raise ConfigError(f"{where}.freqs", freqs, "1-3 frequencies, 40-3900 Hz")
    if (
        not isinstance(cad, list)
        or len(cad) % 2
        or len(cad) > 8
        or not all(isinstance(t, (int, float)) and 0.05 <= t <= 10 for t in cad)
    ):
        raise ConfigError(f"{where}.cadence", cad, "[] or 2-8 on/off times of 0.05-10 s")
    return ToneSpec(country, name, tuple(float(f) for f in freqs), tuple(float(t) for t in cad))


def load_tables(configured: Mapping[str, Any] | None = None) -> list[ToneSpec]:
    """The built-in tables merged with the ``dsp.tones`` config value (validated here)."""
    tables: dict[str, dict[str, ToneSpec]] = {
        c: {n: ToneSpec(c, n, tuple(map(float, f)), tuple(map(float, k))) for n, (f, k) in t.items()}
        for c, t in BUILTIN_TABLES.items()
    }
    for raw_country, table in (configured or {}).items():
        country = normalise_country(str(raw_country))
        if not _COUNTRY.match(country):
            raise ConfigError(f"dsp.tones.{raw_country}", table, "a table named by a two-letter country code")
        if not isinstance(table, Mapping):
            raise ConfigError(f"dsp.tones.{raw_country}", table, "a table of tones")
        for name, value in table.items():
            tables.setdefault(country, {})[name] = _parse_tone(country, name, value)
    return [spec for t in tables.values() for spec in t.values()]


def countries(specs: Iterable[ToneSpec]) -> list[str]:
    return sorted({s.country for s in specs})


def within_limits(specs: Iterable[ToneSpec]) -> bool:
    """The tables fit the detector: at most MAX_FREQS frequencies and MAX_SETS sets in all."""
    specs = list(specs)
    return (
        len({f for s in specs for f in s.freqs}) <= MAX_FREQS
        and len({tuple(sorted(s.freqs)) for s in specs}) <= MAX_SETS
    )


def valid_config(value: Any) -> bool:
    """The check of the ``dsp.tones`` config key."""
    if not isinstance(value, Mapping):
        return False
    try:
        return within_limits(load_tables(value))
    except ConfigError:
        return False
