"""The call flow end to end through the sim line: audio through the C DSP, not events injected behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.dsp import wav
from tests.calls.conftest import call_rig, run


@pytest.mark.parametrize("standard", ["bell202", "v23", "dtmf"])
def test_unknown_caller_of_each_standard_is_popped_and_missed(tmp_path: Path, prompts_dir: Path,
                                                              standard: str) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, rings_before_answer="0") as rig:
            row = await rig.incoming("0401234567", "ANNA" if standard != "dtmf" else None,
                                     standard=standard, max_rings=3)
            (pop,) = rig.events("caller_pop")
            assert pop["number"] == "+358401234567" and pop["contact"] is None
            assert pop["call_id"] == row["id"]
            if standard != "dtmf":
                assert pop["name_on_line"] == "ANNA"
            assert row["outcome"] == "missed" and row["number"] == "+358401234567" and row["direction"] == "in"
            assert row["detail"]["caller_id"]["modulation"] == {"bell202": "bell202", "v23": "v23",
                                                                "dtmf": "dtmf"}[standard]
            states = [e["state"] for e in rig.events("line_state")]
            assert states[-2:] == ["ringing", "idle"]
            (event,) = rig.store.call(lambda: [json.loads(r[0]) for r in rig.store.conn.execute(
                "SELECT data FROM events WHERE stream = 'call'")])
            assert event["outcome"] == "missed" and event["call_id"] == row["id"]

    run(main())


def test_withheld_number(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, rings_before_answer="0") as rig:
            row = await rig.incoming(None, reason="private", standard="bell202", max_rings=2)
            (pop,) = rig.events("caller_pop")
            assert pop["number"] is None and pop["number_absent_reason"] == "private"
            assert row["number"] is None and row["number_absent_reason"] == "private"

    run(main())


def test_menu_walk_with_barge_in_invalid_keys_and_timeouts_ends_waiting_for_the_desk(
        tmp_path: Path, prompts_dir: Path) -> None:
    """7 (invalid) barges into the greeting, 1 barges into the short menu, * into the info;
    then silence: two timeouts send the caller to the desk, who picks up."""

    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            script = [["wait", 2.0], ["keys", "7"], ["wait", 1.5], ["keys", "1"], ["wait", 2.0], ["keys", "*"]]

            async def desk() -> None:
                await rig.wait_bus("line_state", lambda d: d["state"] == "waiting_for_desk")
                rig.sim.exchange.desk_pickup()

            row = await rig.incoming("0401234567", "ANNA", script=script, during=desk)
            assert row["keys"] == "71*"
            assert row["outcome"] == "transferred"
            path = row["detail"]["menu_path"]
            assert path[:4] == ["main", "invalid:7", "1", "*"] and path[-1] == "max_failures:desk"
            assert row["answered_at"] and row["ended_at"]
            assert rig.sim.state == "idle" and not rig.sim.exchange.appliance_off_hook
            assert rig.calls.pop_latency()["n"] == 1

    run(main())


def test_key_0_waits_for_the_desk_and_offers_voicemail_after_the_bound(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir, desk_wait_max="20") as rig:
            script = [["wait", 1.0], ["keys", "0"], ["wait", 40.0], ["wait", 3.0], ["speech", 4.0], ["keys", "#"],
                      ["wait", 2.0], ["hangup", "event"]]
            row = await rig.incoming("0401234567", script=script)
            assert row["detail"]["waited_for_desk"] and row["detail"]["desk_wait"] == "timed_out"
            assert any(e["state"] == "waiting_for_desk" for e in rig.events("line_state"))
            assert row["outcome"] in ("voicemail", "menu")

    run(main())


def test_voicemail_is_kept_as_wav_and_ends_on_hash(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            # 2 barges in; no anonymous choice (waits); after the intro and beep: 5 s of speech, then '#'
            script = [["wait", 1.0], ["keys", "2"], ["wait", 16.0], ["speech", 5.0], ["keys", "#"], ["wait", 8.0],
                      ["hangup", "event"]]
            row = await rig.incoming("0401234567", script=script)
            assert row["outcome"] == "voicemail", row
            assert row["keys"] == "2#"
            assert row["detail"]["voicemail_end"] == "key" and row["detail"]["voicemail_anonymous"] is False
            pcm, rate = wav.read_pcm(row["recording"])
            assert rate == 8000 and 3.0 < len(pcm) / 16000 < 12.0
            assert Path(row["recording"]).parent.name == "messages"

    run(main())


def test_caller_hanging_up_without_a_loop_current_event_ends_the_call(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            for mode in ("busy", "silence"):
                row = await rig.incoming("0401234567", script=[["wait", 1.0], ["keys", "1"], ["hangup", mode]])
                assert row["ended_at"] and row["outcome"] == "menu", (mode, row)
                assert not rig.sim.exchange.appliance_off_hook

    run(main())


def test_unplugged_mid_call_ends_cleanly_and_the_line_comes_back(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> None:
        async with call_rig(tmp_path, prompts_dir) as rig:
            async def unplug() -> None:
                await rig.wait_bus("line_state", lambda d: d["state"] == "in_call")
                rig.sim.unplug()

            row = await rig.incoming("0401234567", script=[["wait", 30.0]], during=unplug)
            assert row["detail"]["ended_by"] == "device_lost" and row["ended_at"]
            rig.sim.replug()
            row = await rig.incoming("0401234567", max_rings=1)
            assert row["outcome"] == "missed"

    run(main())
