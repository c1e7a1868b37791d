"""The simulated line end to end through the audio path: every detection here comes from
the DSP on the audio the simulated exchange produces (except rings, desk and loop-current
events, which a real device reports by itself too)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from appliance import sim_traffic
from appliance.dsp.chain import decode
from appliance.line import signals
from appliance.line.base import DialResult, EventKind, LineEvent, LineState, PlayEnd
from appliance.line.sim import SimLine
from appliance.phone import to_e164
from appliance.ptysim import control_request
from tests.line.conftest import run, wait_for_event


@pytest.mark.parametrize(
    ("country", "standard", "before_first_ring"),
    [
        ("US", "bell202", False),
        ("DE", "v23", True),
        ("FI", "dtmf", True),
        ("UK", "v23", True),
        ("CN", "bell202", False),
    ],
)
def test_caller_id_of_each_standard_is_decoded_from_the_audio(
    country: str, standard: str, before_first_ring: bool
) -> None:
    async def main() -> None:
        line = SimLine(country=country, speed=0)
        await line.open()
        try:
            assert line.exchange.standard == standard  # picked by country
            line.exchange.incoming("0401234567", "ANNA VIRTANEN")
            seen: list[LineEvent] = []
            cid = await wait_for_event(line, EventKind.CALLER_ID, seen)
            assert cid.source == "dsp"
            assert cid.data["number"] == "0401234567"
            assert cid.data["modulation"] == standard
            if standard != "dtmf":
                assert cid.data["name"] == "ANNA VIRTANEN"
            rings_before = [e for e in seen if e.kind == EventKind.RING]
            assert (not rings_before) == before_first_ring
            assert line.state == LineState.RINGING or before_first_ring
        finally:
            await line.close()

    run(main())


def test_withheld_number_gives_a_reason() -> None:
    async def main() -> None:
        line = SimLine(country="US", speed=0)
        await line.open()
        try:
            line.exchange.incoming(None, None, reason="private")
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            assert "number" not in cid.data
            assert cid.data.get("reason") == "private"
        finally:
            await line.close()

    run(main())


def test_answer_keys_and_barge_in() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=[["wait", 1.0], ["keys", "1"], ["wait", 0.5], ["keys", "23#"]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            prompt = signals.speech(4.0, seed=3) * 3  # 12 s: the key comes first
            end = await line.play(prompt, barge_in=True)
            assert end == PlayEnd.INTERRUPTED
            assert line.line_time < 10
            digits = []
            async for ev in line.events():
                if ev.kind == EventKind.DTMF:
                    digits.append(ev.data["digit"])
                    assert ev.source == "dsp"
                    if ev.data["digit"] == "#":
                        break
            assert "".join(digits) == "123#"
            assert line.exchange.heard_s > 0.5  # the caller heard the prompt until the key
        finally:
            await line.close()
        assert line.exchange.appliance_off_hook is False

    run(main())


def test_play_without_barge_in_completes_and_the_echo_makes_no_digits() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0, echo_db=-10)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=[["keys", "5"]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            end = await line.play(signals.speech(3.0), barge_in=False)
            assert end == PlayEnd.COMPLETED
            got = [line._events.get_nowait() for _ in range(len(line._events))]
            digits = [e.data["digit"] for e in got if e and e.kind == EventKind.DTMF]
            assert digits == ["5"]
        finally:
            await line.close()

    run(main())


@pytest.mark.parametrize(
    ("mode", "source", "reason"),
    [
        ("event", "device", "loop_current"),
        ("busy", "dsp", "busy_tone"),
        ("congestion", "dsp", "congestion_tone"),
        ("silence", "dsp", "silence"),
    ],
)
@pytest.mark.parametrize("country", ["US", "DE", "UK"])
def test_far_end_hang_up_is_found_however_it_shows(mode: str, source: str, reason: str, country: str) -> None:
    async def main() -> None:
        line = SimLine(country=country, speed=0, hangup_silence_s=8.0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=[["speech", 1.0], ["hangup", mode]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            t0 = line.line_time
            ev = await wait_for_event(line, EventKind.HANGUP)
            assert ev.source == source
            assert ev.data["reason"] == reason
            assert line.line_time - t0 < 12
            assert await line.play(b"\0" * 1600) == PlayEnd.HANGUP
            await line.on_hook()
            assert line.exchange.state == "idle"
        finally:
            await line.close()

    run(main())


def test_hang_up_during_a_prompt_ends_the_prompt() -> None:
    async def main() -> None:
        line = SimLine(country="US", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=[["wait", 1.0], ["hangup", "event"]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            assert await line.play(signals.speech(4.0) * 5) == PlayEnd.HANGUP
        finally:
            await line.close()

    run(main())


def test_desk_pickup_while_ringing_stops_the_rings() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567")
            await wait_for_event(line, EventKind.RING)
            line.exchange.desk_pickup()
            seen: list[LineEvent] = []
            ev = await wait_for_event(line, EventKind.RINGS_STOPPED, seen)
            assert EventKind.DESK_OFF_HOOK in [e.kind for e in seen]
            assert ev.data["rings"] == 1
            assert line.state == LineState.IDLE
        finally:
            await line.close()

    run(main())


def test_desk_pickup_during_a_call_releases_the_appliance() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567")
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            line.exchange.desk_pickup()
            await wait_for_event(line, EventKind.DESK_OFF_HOOK)
            await line.on_hook()
            assert line.exchange.state == "desk_call"  # the caller stays with the desk
            line.exchange.desk_hangup()
            assert line.exchange.state == "idle"
        finally:
            await line.close()

    run(main())


def test_caller_gives_up_after_its_rings() -> None:
    async def main() -> None:
        line = SimLine(country="SE", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", max_rings=3)
            ev = await wait_for_event(line, EventKind.RINGS_STOPPED)
            assert ev.data["rings"] == 3
        finally:
            await line.close()

    run(main())


@pytest.mark.parametrize("country", ["US", "DE", "FI", "UK", "SE", "CN"])
@pytest.mark.parametrize(
    ("plan", "want"),
    [
        ("answered", DialResult.ANSWERED),
        ("busy", DialResult.BUSY),
        ("congestion", DialResult.BUSY),
        ("no_answer", DialResult.NO_ANSWER),
        ("no_dialtone", DialResult.NO_DIALTONE),
    ],
)
def test_dial_results_from_the_call_progress_audio(country: str, plan: str, want: DialResult) -> None:
    async def main() -> None:
        line = SimLine(country=country, speed=0)
        await line.open()
        try:
            line.exchange.plan_dial(plan)
            result = await line.dial("0401234567", timeout=30)
            assert result == want
            assert line.exchange.last_dialed == "0401234567"
            if want == DialResult.ANSWERED:
                assert line.state == LineState.OFF_HOOK
                await line.on_hook()
            assert not line.exchange.appliance_off_hook  # never left off-hook
        finally:
            await line.close()

    run(main())


def test_dial_plan_per_number_for_a_two_number_contact() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.plan_dial("busy", number="0401111111")
            line.exchange.plan_dial("answered", number="0402222222")
            assert await line.dial("0401111111") == DialResult.BUSY
            assert await line.dial("0402222222") == DialResult.ANSWERED
            await line.on_hook()
        finally:
            await line.close()

    run(main())


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ([["speech", 2.0], ["keys", "#"]], "key"),
        ([["speech", 1.0], ["wait", 30]], "silence"),
        ([["speech", 1.0], ["hangup", "event"]], "hangup"),
        ([["speech", 30.0]], "max_length"),
    ],
)
def test_record_ends_for_each_reason(script: list[list[object]], why: str) -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=script)
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            pcm, got = await line.record(8.0, end_keys="#", max_silence=3.0)
            assert got == why
            assert len(pcm) >= 16000 * (0.9 if why != "max_length" else 8)
            assert not [e for e in decode(pcm, 8000, caller_id=False) if e["type"] == "tone"]
        finally:
            await line.close()

    run(main())


def test_unplug_mid_call_ends_it_cleanly_and_the_line_comes_back() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567")
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            play = asyncio.create_task(line.play(signals.speech(4.0) * 10))
            await asyncio.sleep(0.01)
            line.unplug()
            assert await play == PlayEnd.DEVICE_LOST
            assert line.state == LineState.GONE
            assert not line.exchange.appliance_off_hook
            await line.on_hook()  # safe when gone
            line.replug()
            await wait_for_event(line, EventKind.DEVICE_BACK)
            assert line.state == LineState.IDLE
            line.exchange.incoming("0409999999")
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            assert cid.data["number"] == "0409999999"
        finally:
            await line.close()

    run(main())


def test_event_queue_is_bounded_and_drops_dsp_events_first() -> None:
    from appliance.line.core import EventQueue

    async def main() -> None:
        q = EventQueue(bound=4)
        q.put(LineEvent(EventKind.RING, 0.0, "device"))
        for i in range(6):
            q.put(LineEvent(EventKind.DTMF, float(i), "dsp", {"digit": str(i)}))
        assert len(q) == 4
        assert q.dropped == 3
        kept = [q.get_nowait() for _ in range(4)]
        assert kept[0] is not None and kept[0].kind == EventKind.RING
        assert [e.data["digit"] for e in kept[1:] if e] == ["3", "4", "5"]

    run(main())


def test_speech_like_audio_makes_no_false_events() -> None:
    pcm = signals.speech(4.0, seed=1) + signals.speech(4.0, seed=2)
    assert [e for e in decode(pcm, 8000) if e["type"] != "tone"] == []


def test_bad_script_is_refused_with_a_reason() -> None:
    async def main() -> None:
        line = SimLine(speed=0)
        await line.open()
        try:
            assert line.control({"op": "ring", "script": [["dance", 1]]})["ok"] is False
            answer = line.control({"op": "ring", "script": [["keys", "12x"]]})
            assert "keys" in answer["error"]
            assert line.control(b"not json")["ok"] is False
            assert line.control({"op": "nope"})["error"] == "unknown op 'nope'"
            assert line.control({"op": "keys", "digits": "1"})["ok"] is False  # no call
            assert line.exchange.state == "idle"
        finally:
            await line.close()

    run(main())


def test_real_time_pacing() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=10)
        await line.open()
        try:
            line.exchange.incoming("0401234567")
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await wait_for_event(line, EventKind.CALLER_ID)
            elapsed = loop.time() - t0
            # DTMF caller ID ends ~2 s of line time in: ~0.2 s at ten times real time
            assert 0.1 < elapsed < 1.5, elapsed
        finally:
            await line.close()

    run(main())


def test_control_socket_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance.cli.main import main as cli_main
    from appliance.line.service import SIM_CONTROL_NAME

    sock = tmp_path / SIM_CONTROL_NAME
    ready = threading.Event()
    stop: list[asyncio.AbstractEventLoop] = []
    got: list[LineEvent] = []
    done = asyncio.Event

    async def serve() -> None:
        line = SimLine(country="DE", speed=0, control=sock)
        await line.open()
        stop.append(asyncio.get_running_loop())
        finished = done()
        stop.append(finished)  # type: ignore[arg-type]
        ready.set()

        async def collect() -> None:
            async for ev in line.events():
                got.append(ev)

        task = asyncio.create_task(collect())
        await finished.wait()
        await line.close()
        await task

    thread = threading.Thread(target=lambda: asyncio.run(serve()))
    thread.start()
    try:
        assert ready.wait(10)
        answer = control_request(sock, {"op": "ring", "number": "030123456", "name": "KLINIK", "standard": "v23"})
        assert answer["ok"] and answer["state"]["exchange"]["state"] == "ringing"
        monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
        monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
        assert cli_main(["line", "sim", "state"]) == 0
        state = json.loads(capsys.readouterr().out)
        assert state["ok"] and state["state"]["exchange"]["caller"]["number"] == "030123456"
        assert cli_main(["line", "sim", "keys"]) == 2  # no digits: usage error
        assert cli_main(["line", "sim", "keys", "5"]) == 1  # no far end to press keys yet
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"] is False
        assert cli_main(["line", "sim", "busy"]) == 0
    finally:
        loop, finished = stop[0], stop[1]
        loop.call_soon_threadsafe(finished.set)  # type: ignore[attr-defined]
        thread.join(10)
    assert not sock.exists()
    assert any(e.kind == EventKind.CALLER_ID and e.data["number"] == "030123456" for e in got)


def test_cli_without_a_daemon_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from appliance.cli.main import main as cli_main

    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    assert cli_main(["line", "sim", "ring", "--number", "123"]) == 1
    assert "line.driver = sim" in capsys.readouterr().err


def test_memory_and_file_handles_do_not_grow_over_many_calls() -> None:
    import gc
    import os
    import tracemalloc

    async def calls(line: SimLine, n: int) -> None:
        for i in range(n):
            line.exchange.incoming(f"04012{i:05d}", script=[["keys", "1"], ["hangup", "busy"]])
            async for ev in line.events():
                if ev.kind == EventKind.RING:
                    await line.off_hook()
                elif ev.kind == EventKind.HANGUP:
                    await line.on_hook()
                    break

    async def main() -> tuple[int, int, int, int]:
        line = SimLine(country="FI", speed=0)
        await line.open()
        try:
            await calls(line, 20)  # warm up caches (speech, tone cycles)
            gc.collect()
            fd0 = len(os.listdir("/proc/self/fd"))
            tracemalloc.start()
            m0 = tracemalloc.get_traced_memory()[0]
            await calls(line, 50)
            gc.collect()
            m1 = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            fd1 = len(os.listdir("/proc/self/fd"))
            assert line.counters["calls_answered"] == 70
            return m0, m1, fd0, fd1
        finally:
            await line.close()

    m0, m1, fd0, fd1 = run(main(), timeout=120)
    assert fd1 == fd0
    assert m1 - m0 < 100_000, f"memory grew {m1 - m0} bytes over 50 calls"


def test_the_line_goes_on_hook_by_itself_when_nobody_acts_on_a_hang_up() -> None:
    async def main() -> None:
        line = SimLine(country="US", speed=0)
        await line.open()
        try:
            line.exchange.incoming("0401234567", script=[["hangup", "busy"]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            await wait_for_event(line, EventKind.HANGUP)
            t0 = line.line_time
            while line.state == LineState.OFF_HOOK:  # the consumer forgets to hang up
                await asyncio.sleep(0.001)
            assert line.line_time - t0 >= line.auto_on_hook_s - 0.1
            assert not line.exchange.appliance_off_hook
            assert line.counters["auto_on_hook"] == 1
        finally:
            await line.close()

    run(main())


def test_calls_arrive_by_themselves_in_random_mode() -> None:
    async def main() -> None:
        line = SimLine(country="FI", speed=0, random_calls_per_hour=36000, seed=3)
        await line.open()
        try:
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            number = cid.data["number"]  # one of the simulated patients, or a stranger's mobile
            cast = {to_e164(sender, "FI") for sender, _, _ in sim_traffic.MESSAGES}
            assert to_e164(number, "FI") in cast or (number.startswith("050") and len(number) == 10)
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            # the random caller presses keys and hangs up in one of the four ways
            ev = await wait_for_event(line, EventKind.HANGUP)
            assert ev.data["reason"] in ("loop_current", "busy_tone", "congestion_tone", "silence")
            assert line.control({"op": "random", "calls_per_hour": 0})["ok"]
        finally:
            await line.close()

    run(main())
