"""The v253 driver against the simulated voice modem on a pty (both chip families and an
old Rockwell): bring-up, caller ID, keys as audio only and as DLE events only, hang-up
without <DLE>l, dialing, unplug mid-call, and the DLE framing as a property."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import DeviceError
from appliance.line import dle, signals
from appliance.line.base import DialResult, EventKind, LineEvent, LineState, PlayEnd
from appliance.line.v253 import V253Line
from appliance.line.v253_sim import V253Simulator
from appliance.serialport import open_port
from tests.line.conftest import run, wait_for_event

SPEED = 4.0  # the simulated modem streams four times faster than real time


@pytest.fixture
def make_sim(tmp_path: Path) -> Iterator[object]:
    sims: list[V253Simulator] = []

    def make(profile: str = "cx93001", **kw: object) -> V253Simulator:
        kw.setdefault("country", "US")
        sim = V253Simulator(profile, link=tmp_path / f"modem{len(sims)}", speed=SPEED, **kw).start()  # type: ignore[arg-type]
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@asynccontextmanager
async def opened(sim: V253Simulator, **kw: object) -> AsyncIterator[V253Line]:
    line = V253Line(sim.port, country="US", reopen_s=0.2, **kw)  # type: ignore[arg-type]
    await line.open()
    try:
        yield line
    finally:
        await line.close()
    assert not sim.state()["off_hook"], "the driver left the modem off-hook"


async def answer_call(sim: V253Simulator, line: V253Line, script: list[list[object]], **ring: object) -> None:
    """Ring, answer at the first ring. Scripts start with a wait: what the caller does before
    AT+VTR has set up the stream is not heard (as on a real modem)."""
    sim.line("ring", number="0401234567", script=script, **ring)
    await wait_for_event(line, EventKind.RING)
    await line.off_hook()


@pytest.mark.parametrize(
    ("profile", "model", "cid", "codec", "encoding"),
    [
        ("usr5637", "U.S. Robotics 56K FAX USB V1.2.23", "AT+VCID=1", 129, "s16le"),
        ("cx93001", "CX93001-EIS_V0.2002-V92", "AT+VCID=1", 131, "ulaw"),
        ("rockwell", "V2.210-V90_2M_DLS", "AT#CID=1", 4, "ulaw"),
    ],
)
def test_bring_up_follows_what_each_chip_offers(
    make_sim: object, profile: str, model: str, cid: str, codec: int, encoding: str
) -> None:
    sim = make_sim(profile)  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            assert line.model == model
            assert line.cid_command == cid
            assert line.vsm is not None and (line.vsm.code, line.vsm.encoding) == (codec, encoding)
            state = sim.state()
            assert state["cid"] is True and state["fclass"] == "8" and state["gci"] == "B5"
            assert state["vsm"][0] == codec
        assert sim.commands[:2] == ["ATZ", "ATE1 V1"]

    run(main())


@pytest.mark.parametrize("profile", ["usr5637", "cx93001"])
def test_ring_and_caller_id_lines_become_events(make_sim: object, profile: str) -> None:
    sim = make_sim(profile)  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            sim.line("ring", number="4075551212", name="JOHN DOE")
            seen: list[LineEvent] = []
            cid = await wait_for_event(line, EventKind.CALLER_ID, seen)
            assert cid.source == "device"
            assert cid.data["number"] == "4075551212" and cid.data["name"] == "JOHN DOE"
            assert len(cid.data["datetime"]) == 8
            assert [e.kind for e in seen].count(EventKind.RING) == 1  # Bell 202: between the rings
            sim.line("hangup")  # the caller gives up
            sim.line("ring", reason="private")
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            assert cid.data["reason"] == "private" and "number" not in cid.data

    run(main())


def test_conexant_forgets_caller_id_after_a_reset_and_the_driver_sends_it_again(make_sim: object) -> None:
    cx, usr = make_sim("cx93001"), make_sim("usr5637")  # type: ignore[operator]
    for sim, kept in ((cx, False), (usr, True)):
        with sim._lock:
            sim.cid = True
            sim._command_line("ATZ")
        assert sim.state()["cid"] is kept

    async def main() -> None:
        async with opened(cx) as line:
            assert cx.state()["cid"]
            cx.unplug()
            await wait_for_event(line, EventKind.DEVICE_LOST)
            cx.replug()  # a fresh chip: caller ID off
            await wait_for_event(line, EventKind.DEVICE_BACK)
            assert cx.state()["cid"] is True
            assert line.resets == 2

    run(main())


@pytest.mark.parametrize(("mode", "sources"), [("audio", {"dsp"}), ("dle", {"device"}), ("both", {"dsp", "device"})])
@pytest.mark.parametrize("profile", ["usr5637", "cx93001"])
def test_keys_as_audio_only_or_dle_only_are_each_enough(
    make_sim: object, profile: str, mode: str, sources: set[str]
) -> None:
    sim = make_sim(profile, dtmf_mode=mode)  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            await answer_call(
                sim, line, [["wait", 2.0], ["keys", "1"], ["wait", 0.3], ["keys", "9*#"], ["hangup", "event"]]
            )
            digits: dict[str, list[str]] = {"dsp": [], "device": []}
            async for ev in line.events():
                if ev.kind == EventKind.DTMF:
                    digits[ev.source].append(ev.data["digit"])
                if ev.kind == EventKind.HANGUP:
                    break
            for source in ("dsp", "device"):
                assert "".join(digits[source]) == ("19*#" if source in sources else "")

    run(main())


def test_barge_in_from_a_dle_digit_stops_the_prompt(make_sim: object) -> None:
    sim = make_sim("cx93001", dtmf_mode="dle")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            await answer_call(sim, line, [["wait", 2.0], ["keys", "2"]])
            assert await line.play(signals.speech(4.0) * 4) == PlayEnd.INTERRUPTED
            assert sim.exchange.heard_s > 0.5  # the prompt went out through AT+VTR

    run(main())


@pytest.mark.parametrize(
    ("far_end", "reason"), [("busy", "busy_tone"), ("congestion", "congestion_tone"), ("event", "silence")]
)
def test_hang_up_without_dle_l_is_found_in_the_audio(make_sim: object, far_end: str, reason: str) -> None:
    sim = make_sim("cx93001", report_hangup=False)  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim, hangup_silence_s=6.0) as line:
            await answer_call(sim, line, [["speech", 1.0], ["hangup", far_end]])
            seen: list[LineEvent] = []
            ev = await wait_for_event(line, EventKind.HANGUP, seen)
            if far_end == "event":  # silence: the chip said so too before our own detector ended it
                assert any(e.kind == EventKind.SILENCE and e.source == "device" for e in seen)
            assert ev.data["reason"] in (reason, "busy_tone") if far_end != "event" else ev.data["reason"] == reason
            assert not [e for e in seen if e.kind == EventKind.HANGUP and e.data.get("reason") == "loop_current"]
            await line.on_hook()
            assert not sim.state()["off_hook"]

    run(main())


@pytest.mark.parametrize("profile", ["usr5637", "cx93001"])
@pytest.mark.parametrize(
    ("plan", "want"),
    [("busy", DialResult.BUSY), ("answered", DialResult.ANSWERED), ("no_dialtone", DialResult.NO_DIALTONE)],
)
def test_dial_results(make_sim: object, profile: str, plan: str, want: DialResult) -> None:
    sim = make_sim(profile)  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            sim.line(plan)
            assert await line.dial("0401234567", timeout=20) == want
            if want == DialResult.ANSWERED:
                assert line.state == LineState.OFF_HOOK
                await line.on_hook()
            assert not sim.state()["off_hook"]
            assert sim.state()["exchange"]["last_dialed"] in ("0401234567", "")

    run(main())


def test_dial_no_answer_from_the_modem_and_from_the_audio(make_sim: object) -> None:
    usr, cx = make_sim("usr5637"), make_sim("cx93001")  # type: ignore[operator]

    async def main() -> None:
        async with opened(usr) as line:
            usr.line("no_answer")
            assert await line.dial("0401234567", timeout=60) == DialResult.NO_ANSWER  # the modem's NO ANSWER
        async with opened(cx) as line:
            cx.line("no_answer")
            assert await line.dial("0401234567", timeout=12) == DialResult.NO_ANSWER  # ringback until our timeout

    run(main(), timeout=90)


def test_unplug_mid_call_ends_it_and_the_driver_comes_back(make_sim: object) -> None:
    sim = make_sim("usr5637")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            await answer_call(sim, line, [])
            play = asyncio.create_task(line.play(signals.speech(4.0) * 10))
            await asyncio.sleep(0.3)
            sim.unplug()
            assert await asyncio.wait_for(play, 5) == PlayEnd.DEVICE_LOST
            assert line.state == LineState.GONE
            await line.on_hook()  # safe while gone
            await asyncio.sleep(0.5)
            sim.replug()
            await wait_for_event(line, EventKind.DEVICE_BACK)
            assert line.state == LineState.IDLE
            sim.line("ring", number="0409999999", name="BACK")
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            assert cid.data["number"] == "0409999999"

    run(main())


def test_a_port_another_program_holds_is_refused(make_sim: object) -> None:
    sim = make_sim("cx93001")  # type: ignore[operator]
    other = open_port(sim.path, 115200)
    try:

        async def main() -> None:
            line = V253Line(sim.path)
            with pytest.raises(DeviceError, match="held by another program"):
                await line.open()

        run(main())
    finally:
        other.close()


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.binary(max_size=80).map(lambda b: ("data", b)),
            st.sampled_from("0123456789*#bdlRs!").map(lambda e: ("event", e)),
        ),
        max_size=12,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=1200), max_size=8),
)
def test_dle_shielding_round_trips_any_bytes_and_events_split_anywhere(
    parts: list[tuple[str, object]], cuts: list[int]
) -> None:
    stream = b"".join(dle.shield(v) if k == "data" else b"\x10" + str(v).encode() for k, v in parts)  # type: ignore[arg-type]
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    un = dle.Unshielder()
    got: list[tuple[str, object]] = []
    for chunk in chunks:
        for kind, value in un.feed(chunk):
            if kind == "data" and got and got[-1][0] == "data":
                got[-1] = ("data", got[-1][1] + value)  # type: ignore[operator]
            elif kind == "data":
                got.append(("data", value))
            else:
                got.append(("event", value))
    want: list[tuple[str, object]] = []
    for part_kind, part in parts:
        if part_kind == "data" and not part:
            continue
        if part_kind == "data" and want and want[-1][0] == "data":
            want[-1] = ("data", want[-1][1] + part)  # type: ignore[operator]
        else:
            want.append((part_kind, part))
    assert got == want


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=2, max_size=400).filter(lambda b: len(b) % 2 == 0))
def test_sample_formats_round_trip(pcm: bytes) -> None:
    assert dle.decode(dle.encode(pcm, "s16le"), "s16le") == pcm
    for enc in ("u8", "s8", "ulaw", "alaw"):
        once = dle.decode(dle.encode(pcm, enc), enc)
        assert dle.decode(dle.encode(once, enc), enc) == once  # a second pass changes nothing


def test_rings_stopped_when_the_caller_gives_up(make_sim: object) -> None:
    sim = make_sim("cx93001")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            sim.line("ring", number="0401234567", rings=2)
            ev = await wait_for_event(line, EventKind.RINGS_STOPPED)
            assert ev.data["rings"] == 2
            assert line.state == LineState.IDLE

    run(main())


def test_a_modem_that_forgot_caller_id_by_itself_gets_it_back(make_sim: object) -> None:
    sim = make_sim("cx93001")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim, check_s=0.5) as line:
            with sim._lock:
                sim.cid = False  # the chip reset itself (brown-out) without the port going away
            for _ in range(40):
                await asyncio.sleep(0.1)
                if sim.state()["cid"]:
                    break
            assert sim.state()["cid"] is True
            assert line.cid_reenabled == 1

    run(main())


def test_a_hung_modem_is_reopened_and_comes_back(make_sim: object) -> None:
    sim = make_sim("usr5637")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim, check_s=0.3) as line:
            sim.hang(4.0)
            await wait_for_event(line, EventKind.DEVICE_LOST)
            await wait_for_event(line, EventKind.DEVICE_BACK)
            assert line.resets >= 2 and sim.state()["cid"]

    run(main())


def test_a_half_duplex_modem_listens_with_vrx_and_plays_with_vtx(make_sim: object) -> None:
    sim = make_sim("rockwell")  # type: ignore[operator]

    async def main() -> None:
        async with opened(sim) as line:
            await answer_call(sim, line, [["wait", 2.0], ["keys", "4"], ["wait", 3.0], ["keys", "5"], ["wait", 30]])
            assert line.duplex is False and not line.capabilities.full_duplex
            assert sim.state()["mode"] == "vrx"
            end = await line.play(signals.speech(4.0) * 3)
            assert end == PlayEnd.INTERRUPTED  # <DLE>4 from the chip while it played (AT+VTX)
            assert sim.exchange.heard_s > 0.3
            ev = await wait_for_event(line, EventKind.DTMF, pred=lambda e: e.data["digit"] == "5" and e.source == "dsp")
            assert ev.data["digit"] == "5"  # heard in the audio again: back in AT+VRX
            assert sim.state()["mode"] == "vrx"
            assert "AT+VTX" in sim.commands and "AT+VRX" in sim.commands

    run(main())
