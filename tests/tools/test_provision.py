"""`appliance-tools provision`, probe of a family with no profile, prompts and trace, on the simulators."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.modem.profiles import choose_profile
from appliance.modem.sim_profiles import SimProfile
from appliance.modem.simulator import SimulatedModem
from firmware_tools.provision import parse_pin_retries, update_toml
from tests.helpers import base_env, free_port

# A family the code has no profile for (profiles.py, sim_profiles.py): it must be found and set
# up by the standard commands alone (TS 27.007/27.005: +CGMI, +CPINR, +CPMS, +CNMI).
TELIT = SimProfile(
    name="telit-le910", manufacturer="Telit", model="LE910C4-EU", revision="25.21.660",
    ati=("Telit", "LE910C4-EU", "25.21.660"), storages={"SM": 20, "ME": 100}, default_storage="SM",
    lte=True, cmgs_delay_s=0.1, boot_urcs=("+CPIN: READY",),
)


def _tools(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firmware_tools.main", *args],
        capture_output=True, text=True, timeout=180, env={**base_env(Path("/tmp")), **env} if env else None,
    )


def test_the_unknown_family_really_has_no_profile() -> None:
    assert choose_profile(" ".join(TELIT.ati) + TELIT.manufacturer + TELIT.model).name == "generic"


def test_probe_identifies_a_family_it_has_no_profile_for() -> None:
    with SimulatedModem(TELIT) as sim:
        result = _tools("probe", "--port", sim.path, "--json")
    assert result.returncode == 0, result.stderr
    device = json.loads(result.stdout)
    assert device["kind"] == "gsm" and device["manufacturer"] == "Telit" and device["model"] == "LE910C4-EU"
    assert device["sim"] == "READY" and len(device["imei"]) == 15
    assert device["use"] == {"modem": {"driver": "serial", "port": sim.path}}


@pytest.mark.parametrize(
    ("profile", "command"),
    [("sim800", "AT+SPIC"), ("ec25", 'AT+QPINC="SC"'), ("huawei", "AT^CPIN?"), (TELIT, 'AT+CPINR="SIM PIN"')],
    ids=["sim800", "ec25", "huawei", "unknown-family"],
)
def test_provision_unlocks_the_sim_reading_the_tries_left(profile: SimProfile | str, command: str) -> None:
    with SimulatedModem(profile, pin="2468") as sim:
        result = _tools("provision", "--port", sim.path, "--no-line", "--pin", "2468", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    sim_step = next(s for s in doc["steps"] if s["step"] == "sim")
    assert sim_step["pin_tries_left"] == 3 and sim_step["pin_tries_command"] == command
    assert sim_step["sim"] == "READY"
    modem = next(s for s in doc["steps"] if s["step"] == "modem")
    assert modem["cnmi"] and modem["storage"] in ("SM", "ME")
    assert doc["config"]["modem"]["driver"] == "serial" and doc["config"]["line"] == {"driver": "none"}


def test_provision_never_spends_the_last_pin_try() -> None:
    with SimulatedModem("ec25", pin="2468", pin_tries=1) as sim:
        result = _tools("provision", "--port", sim.path, "--no-line", "--pin", "2468", "--json")
    assert result.returncode == 1
    step = next(s for s in json.loads(result.stdout)["steps"] if s["step"] == "sim")
    assert not step["ok"] and step["pin_tries_left"] == 1 and "refusing" in step["detail"]
    assert sim._state.pin_tries == 1 and not sim._state.pin_ok  # untouched


def test_a_wrong_pin_is_tried_once_only() -> None:
    with SimulatedModem(TELIT, pin="2468") as sim:
        result = _tools("provision", "--port", sim.path, "--no-line", "--pin", "1111", "--json")
    assert result.returncode == 1
    step = next(s for s in json.loads(result.stdout)["steps"] if s["step"] == "sim")
    assert step["pin_tries_left"] == 2 and "not retrying" in step["detail"]
    assert sim._state.pin_tries == 2


def test_provision_writes_the_config_and_sends_a_test_sms(tmp_path: Path) -> None:
    cfg = tmp_path / "appliance.toml"
    cfg.write_text("# the lab's config\n[site]\nid = \"lab-9\"  # keep\n[modem]\ndriver = \"sim\"\n"
                   "[line]\ndriver = \"sim\"\n[mqtt]\nport = 8883\n")
    with SimulatedModem(TELIT) as sim:
        result = _tools("provision", "--port", sim.path, "--no-line", "--test-sms", "+358401234567",
                        "--write", str(cfg), "--json")
        sent = list(sim.sent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [m.recipient for m in sent] == ["+358401234567"]
    loaded = load_config(str(cfg), environ={})
    assert (loaded.modem.driver, loaded.modem.port, loaded.line.driver) == ("serial", sim.path, "none")
    assert loaded.site.id == "lab-9" and loaded.mqtt.port == 8883
    assert "# the lab's config" in cfg.read_text() and "# keep" in cfg.read_text()
    assert (tmp_path / "appliance.toml.bak").read_text().count('driver = "sim"') == 2


def test_nothing_found_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "appliance.toml"
    result = _tools("provision", "--port", "/dev/ttyNOPE7", "--no-line", "--write", str(cfg))
    assert result.returncode == 1 and "NOT written" in result.stdout
    assert not cfg.exists()


def test_pin_retry_answers_of_each_dialect() -> None:
    assert parse_pin_retries('AT+CPINR="SIM PIN"', ["+CPINR: SIM PIN,2,3"]) == 2
    assert parse_pin_retries("AT+SPIC", ["+SPIC: 1,3,10,10"]) == 1
    assert parse_pin_retries('AT+QPINC="SC"', ['+QPINC: "SC",3,10']) == 3
    assert parse_pin_retries("AT^CPIN?", ["^CPIN: SIM PIN,3,10,3,10,3"]) == 3
    assert parse_pin_retries("AT+SPIC", ["OK"]) is None


def test_update_toml_keeps_comments_and_adds_sections() -> None:
    text = update_toml("[modem]\n# c\ndriver = \"sim\"\n[web]\nlisten = \"x:1\"\n",
                       {"modem": {"driver": "serial", "port": "/dev/x"}, "line": {"driver": "none"}})
    assert text.startswith("[modem]\nport = \"/dev/x\"\n# c\ndriver = \"serial\"\n[web]")
    assert text.rstrip().endswith("[line]\ndriver = \"none\"")


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng/sox not installed")
def test_prompts_build_import_and_check(tmp_path: Path) -> None:
    texts = tmp_path / "texts.toml"
    texts.write_text('[en]\nwelcome = "Welcome to the laboratory."\n[fi]\nwelcome = "Tervetuloa laboratorioon."\n')
    built = _tools("prompts", "build", "--dir", str(tmp_path / "p"), "--texts", str(texts), "--json")
    assert built.returncode == 0, built.stderr
    docs = json.loads(built.stdout)
    assert {d["lang"] for d in docs} == {"en", "fi"} and all(d["ok"] for d in docs)
    assert all(-17.0 <= d["peak_db"] <= -15.0 for d in docs)

    # a recording at 44.1 kHz stereo, loud, as MP3: converted to 8 kHz mono, normalised
    wav = tmp_path / "rec.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(wav), "synth", "2", "sine", "300-900",
                    "gain", "-1"], check=True)
    mp3 = tmp_path / "rec.mp3"
    if subprocess.run(["sox", str(wav), str(mp3)], capture_output=True).returncode != 0:
        mp3 = wav  # sox without an MP3 encoder: the WAV path still runs
    imported = _tools("prompts", "import", str(mp3), "--dir", str(tmp_path / "p"), "--lang", "sv",
                      "--name", "goodbye", "--json")
    assert imported.returncode == 0, imported.stderr
    (doc,) = json.loads(imported.stdout)
    assert doc["source"]["rate"] == 44100 and doc["ok"] and -17.0 <= doc["peak_db"] <= -15.0
    checked = _tools("prompts", "check", "--dir", str(tmp_path / "p"), "--json")
    assert checked.returncode == 0 and len(json.loads(checked.stdout)) == 3

    silent = tmp_path / "silent.wav"
    subprocess.run(["sox", "-n", "-r", "16000", str(silent), "trim", "0", "1"], check=True)
    bad = _tools("prompts", "import", str(silent), "--dir", str(tmp_path / "p"), "--lang", "en",
                 "--name", "x", "--json")
    assert bad.returncode == 1 and any("quiet" in p for p in json.loads(bad.stdout)[0]["problems"])
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    refused = _tools("prompts", "import", str(junk), "--dir", str(tmp_path / "p"), "--lang", "en", "--name", "y")
    assert refused.returncode == 2 and "not an audio file" in refused.stderr


def test_trace_of_the_daemon_masks_numbers_and_hides_pdus(tmp_path: Path) -> None:
    with SimulatedModem(TELIT) as sim:
        env = base_env(tmp_path, APPLIANCE_MODEM__DRIVER="serial", APPLIANCE_LINE__DRIVER="none",
                       APPLIANCE_MODEM__SEND_INTERVAL="0", APPLIANCE_WEB__LISTEN=f"127.0.0.1:{free_port()}")
        queued = subprocess.run([sys.executable, "-m", "appliance", "sms", "send", "--to", "+358401234567",
                                 "--text", "hello"], env=env, capture_output=True, text=True, timeout=60)
        assert queued.returncode == 0, queued.stderr
        out = tmp_path / "trace.log"
        result = subprocess.run(
            [sys.executable, "-m", "firmware_tools.main", "trace", "--port", sim.path, "--out", str(out),
             "--daemon", "8"], env=env, capture_output=True, text=True, timeout=90,
        )
        sent = list(sim.sent)
    assert result.returncode == 0, result.stderr
    log = out.read_text()
    assert "> AT+CGMI" in log and "< Telit" in log
    assert [m.recipient for m in sent] == ["+358401234567"], log
    assert "AT+CMGS=" in log and "<PDU," in log
    assert "358401234567" not in log and "0401234567" not in log and "5348103254" not in log


def test_trace_of_the_probe(tmp_path: Path) -> None:
    with SimulatedModem("sim800") as sim:
        result = _tools("trace", "--port", sim.path, "--out", str(tmp_path / "t.log"))
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "t.log").read_text().splitlines()
    assert log[0].startswith("# appliance-tools trace") and any(ln.endswith("> AT+CPIN?") for ln in log)
