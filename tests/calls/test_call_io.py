"""CallIO: keys pressed just before the caller hung up are still the caller's answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from appliance.calls.flow import Call, CallGone, CallIO
from appliance.calls.menu import load_menu
from appliance.calls.prompts import PromptLibrary
from appliance.line.base import EventKind, LineEvent
from appliance.line.sim import SimLine
from tests.calls.conftest import run


def _io(events: list[LineEvent], prompts_dir: Path) -> CallIO:
    queue: asyncio.Queue[LineEvent] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)
    call = Call(call_id=1, direction="in", started_at="2026-12-03T08:00:00Z")
    return CallIO(SimLine(speed=0), queue, call, PromptLibrary(load_menu(None), prompts_dir), "fi")


def _key(digit: str, at: float) -> LineEvent:
    return LineEvent(EventKind.DTMF, time.monotonic(), "dsp", {"digit": digit, "line_time": at})


def test_keys_queued_before_the_hangup_are_taken_first(prompts_dir: Path) -> None:
    async def main() -> None:
        io = _io([_key("4", 1.0), _key("1", 2.0), LineEvent(EventKind.HANGUP, time.monotonic())], prompts_dir)
        assert await io.play(b"\0" * 320) is True  # the first key barges in, the call is not yet over for us
        assert await io.next_key(5.0) == "4"
        assert await io.next_key(5.0) == "1"
        with pytest.raises(CallGone):
            await io.next_key(5.0)
        with pytest.raises(CallGone):  # and it stays gone
            await io.play(b"\0" * 320)

    run(main())


def test_a_hangup_with_no_key_before_it_ends_the_call_at_once(prompts_dir: Path) -> None:
    async def main() -> None:
        io = _io([LineEvent(EventKind.HANGUP, time.monotonic(), data={"reason": "hangup"})], prompts_dir)
        with pytest.raises(CallGone):
            await io.play(b"\0" * 320)

    run(main())


def test_a_prompt_that_cannot_be_interrupted_is_not_played_to_a_gone_caller(prompts_dir: Path) -> None:
    async def main() -> None:
        io = _io([_key("2", 1.0), LineEvent(EventKind.HANGUP, time.monotonic())], prompts_dir)
        with pytest.raises(CallGone):
            await io.play(b"\0" * 320, barge_in=False)

    run(main())
