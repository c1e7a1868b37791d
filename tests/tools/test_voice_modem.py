"""probe, provision (line self-test) and capture against the V.253 voice-modem simulator,
including a chip family the code has no profile for (Agere/Lucent style: %CCID, A-law only)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.line.v253_profiles import PROFILES, V253Profile, VsmCodec
from appliance.line.v253_sim import V253Simulator
from appliance.modem.simulator import SimulatedModem
from firmware_tools.voice import choose_format

# Not in v253_profiles.PROFILES: found only by the standard commands (+FCLASS=?, +VSM=?, +GCI?)
AGERE = V253Profile(
    name="agere-like",
    ati={0: "LT V.92 Data+Fax+Voice Modem Version 8.36", 3: "MT5634ZBA-USB-V92"},
    fclass="0,1,1.0,8",
    vsm_lines=('1,"ALAW",8,0,8000,0,0',),
    codecs=(VsmCodec(1, "ALAW", "alaw", (8000,)),),
    cid_commands=("%CCID",),
    forgets_cid_on_reset=False,
    cid_spaced=True,
    vcon_on_answer=False,
    gci=("B5", "3C"),
)


def _tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firmware_tools.main", *args], capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def voice_sim(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    sim = V253Simulator(request.param, country="FI")
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_the_unknown_family_has_no_profile() -> None:
    assert AGERE.name not in PROFILES and all(p.cid_commands != ("%CCID",) for p in PROFILES.values())


@pytest.mark.parametrize(
    ("voice_sim", "cid", "fmt"),
    [("usr5637", "AT+VCID=1", "8-BIT ULAW"), ("cx93001", "AT+VCID=1", "Mu-Law"),
     ("rockwell", "AT#CID=1", "G711U"), (AGERE, "AT%CCID=1", "ALAW")],
    indirect=["voice_sim"], ids=["usr5637", "cx93001", "rockwell", "unknown-family"],
)
def test_probe_and_line_self_test(voice_sim: V253Simulator, cid: str, fmt: str, tmp_path: Path) -> None:
    probed = _tools("probe", "--port", voice_sim.path, "--json")
    assert probed.returncode == 0, probed.stderr
    device = json.loads(probed.stdout)
    assert device["kind"] == "voice" and device["caller_id_command"] == cid
    assert device["country"] == "B5" and device["voice_formats"]
    assert device["use"] == {"line": {"driver": "v253", "port": voice_sim.path}}

    cfg = tmp_path / "appliance.toml"
    done = _tools("provision", "--port", "/dev/ttyNOPE3", "--line-port", voice_sim.path, "--line-test", "--json")
    doc = json.loads(done.stdout)
    test = next(s for s in doc["steps"] if s["step"] == "line-test")
    assert test["ok"] and test["tones"] == ["dial"] and test["format"] == fmt, test
    assert doc["config"]["line"] == {"driver": "v253", "port": voice_sim.path}
    assert not cfg.exists()


@pytest.mark.parametrize("voice_sim", ["cx93001"], indirect=True)
def test_provision_both_modems_and_write(voice_sim: V253Simulator, tmp_path: Path) -> None:
    cfg = tmp_path / "appliance.toml"
    with SimulatedModem("sim7600") as gsm:
        done = _tools("provision", "--port", gsm.path, "--line-port", voice_sim.path, "--line-test",
                      "--write", str(cfg), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = load_config(str(cfg), environ={})
    assert (loaded.modem.driver, loaded.modem.port) == ("serial", gsm.path)
    assert (loaded.line.driver, loaded.line.port) == ("v253", voice_sim.path)


@pytest.mark.parametrize("voice_sim", ["usr5637"], indirect=True)
def test_capture_records_and_decodes(voice_sim: V253Simulator, tmp_path: Path) -> None:
    out = tmp_path / "line.wav"
    done = _tools("capture", "--port", voice_sim.path, "--seconds", "3", "--out", str(out), "--country", "FI")
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 8000 * 2
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(e.get("type") == "tone" and e.get("tone") == "dial" for e in events), done.stdout


def test_format_choice_prefers_g711() -> None:
    assert choose_format('+VSM: 128,"8-BIT LINEAR",(8000) 131,"8-BIT ULAW",(8000)').kind == "ulaw"  # type: ignore[union-attr]
    assert choose_format('0,"SIGNED PCM",8,0,8000,0,0') is None
