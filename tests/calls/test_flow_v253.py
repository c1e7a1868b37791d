"""The call flow through the v253 driver against the simulated voice modem on a pty, with the
caller's keys only as audio (our DSP), only as <DLE> events (the modem) and as both (kept once)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.contacts import apply_contact
from appliance.line.v253 import V253Line
from appliance.line.v253_sim import V253Simulator
from tests.calls.conftest import CallRig, rig_config, run

SPEED = 4.0


@pytest.fixture
def modem(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[V253Simulator]:
    mode, report_hangup = request.param
    sim = V253Simulator("cx93001", country="US", link=tmp_path / "modem", speed=SPEED, dtmf_mode=mode,
                        report_hangup=report_hangup).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.mark.parametrize("modem", [("audio", True), ("dle", True), ("both", False)], indirect=True,
                         ids=["keys-as-audio", "keys-as-dle", "both-no-dle-hangup"])
def test_menu_call_through_the_voice_modem(tmp_path: Path, prompts_dir: Path, modem: V253Simulator) -> None:
    async def main() -> None:
        cfg = rig_config(tmp_path, rings_before_answer="2", driver="v253", port=modem.port)
        cfg = dataclasses.replace(cfg, site=dataclasses.replace(cfg.site, country="US"))
        driver = V253Line(modem.port, country="US", reopen_s=0.2)
        async with CallRig(cfg, prompts_dir, driver) as rig:
            rig.store.call(apply_contact, rig.store, {"contact_id": "c-1", "version": 1, "contact": {
                "name": "Ann", "phones": ["+12025550123"], "language": "en",
                "consents": {"sms": True, "call": True, "recording": False}}}, "US")
            # 7 (invalid) and 1 barge into prompts; then the caller hangs up
            script = [["wait", 2.0], ["keys", "7"], ["wait", 2.0], ["keys", "1"], ["wait", 2.0],
                      ["hangup", "event" if modem.report_hangup else "busy"]]
            row = await rig.incoming(None, ring=lambda: modem.line("ring", number="2025550123", name="ANN",
                                                                   script=script), timeout=120)
            (pop,) = rig.events("caller_pop")
            assert pop["number"] == "+12025550123" and pop["contact"]["contact_id"] == "c-1"
            assert row["keys"] == "71", row  # each press once, whichever reported it
            assert row["outcome"] == "menu" and row["contact_id"] == "c-1"
            assert row["detail"]["menu_path"][:3] == ["main", "invalid:7", "1"]
            assert not modem.state()["off_hook"]

    run(main(), timeout=240)


@pytest.mark.parametrize("modem", [("both", True)], indirect=True)
def test_modem_unplugged_mid_call_ends_the_call_and_the_next_call_works(
        tmp_path: Path, prompts_dir: Path, modem: V253Simulator) -> None:
    async def main() -> None:
        cfg = rig_config(tmp_path, rings_before_answer="1", driver="v253", port=modem.port)
        cfg = dataclasses.replace(cfg, site=dataclasses.replace(cfg.site, country="US"))
        driver = V253Line(modem.port, country="US", reopen_s=0.2)
        async with CallRig(cfg, prompts_dir, driver) as rig:
            async def unplug() -> None:
                await rig.wait_bus("line_state", lambda d: d["state"] == "in_call")
                modem.unplug()

            row = await rig.incoming(None, ring=lambda: modem.line("ring", number="2025550123",
                                                                   script=[["wait", 60.0]]),
                                     during=unplug, timeout=120)
            assert row["detail"]["ended_by"] == "device_lost" and row["outcome"] == "menu"
            modem.replug()
            script = [["wait", 1.0], ["keys", "1"], ["wait", 1.0], ["hangup", "event"]]
            row = await rig.incoming(None, ring=lambda: modem.line("ring", number="2025550199", script=script),
                                     timeout=120)
            assert row["keys"] == "1" and row["number"] == "+12025550199"
            assert not modem.state()["off_hook"]

    run(main(), timeout=240)
