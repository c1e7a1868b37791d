"""`appliance dsp decode FILE.wav [--json] [--country XX]` as INTERFACES.md §2 says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli.main import main
from appliance.dsp.generator import cadence, dtmf_digits, silence
from appliance.dsp.wav import write_wav


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path / "data"))


def _recording(rate: int = 8000) -> bytes:
    return (
        silence(0.5, rate)
        + dtmf_digits("5", rate, on_ms=80, off_ms=500)
        + cadence([480.0, 620.0], -18, [0.5, 0.5], 4.0, rate)
        + silence(1.0, rate)
    )


@pytest.mark.parametrize(("rate", "encoding"), [(8000, "pcm16"), (8000, "ulaw"), (16000, "alaw"), (16000, "pcm16")])
def test_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: int, encoding: str) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, _recording(rate), rate, encoding)
    assert main(["dsp", "decode", str(path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["type"], e.get("digit") or e.get("tone")) for e in lines] == [("dtmf", "5"), ("tone", "busy")]
    dtmf, tone = lines
    assert set(dtmf) == {"type", "digit", "start", "end"}
    assert dtmf["start"] == pytest.approx(0.5, abs=0.005)
    assert dtmf["end"] == pytest.approx(0.58, abs=0.005)
    assert tone["start"] == pytest.approx(1.08, abs=0.01)
    assert tone["end"] == pytest.approx(4.58, abs=0.01)


def test_human_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, _recording(), 8000)
    assert main(["dsp", "decode", str(path)]) == 0
    out = capsys.readouterr().out
    assert "8000 Hz pcm16" in out and "DTMF 5" in out and "tone busy (US)" in out


def test_country_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "de.wav"
    write_wav(path, cadence([425.0], -15, [0.24, 0.24], 4, 8000), 8000)
    assert main(["dsp", "decode", str(path), "--json", "--country", "DE"]) == 0
    assert [json.loads(x)["tone"] for x in capsys.readouterr().out.splitlines()] == ["congestion"]
    assert main(["dsp", "decode", str(path), "--json", "--country", "FI"]) == 0
    assert capsys.readouterr().out == ""


def test_config_tables_are_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "appliance.toml"
    cfg.write_text("[modem]\ndriver = 'none'\n[line]\ndriver = 'none'\n"
                   "[dsp.tones.NO]\nbusy = {freqs = [425], cadence = [0.5, 0.5]}\n")
    path = tmp_path / "no.wav"
    write_wav(path, cadence([425.0], -15, [0.5, 0.5], 4, 8000), 8000)
    assert main(["--config", str(cfg), "dsp", "decode", str(path), "--json", "--country", "NO"]) == 0
    assert [json.loads(x)["country"] for x in capsys.readouterr().out.splitlines()] == ["NO"]


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"not a wav", "not a WAV file"), (None, "cannot read")],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "x.wav"
    if content is not None:
        path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", "dsp", "decode", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert match in result.stderr and result.stderr.count("\n") == 1


def test_unsupported_rate_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cd.wav"
    write_wav(path, bytes(4410 * 2), 44100)
    assert main(["dsp", "decode", str(path), "--json"]) == 2
    assert "44100 Hz" in capsys.readouterr().err
