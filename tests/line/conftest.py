"""Shared helpers of the line tests: run a coroutine with a deadline, collect events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from appliance.line.base import EventKind, LineDriver, LineEvent


def run(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def wait_for_event(
    line: LineDriver,
    kinds: set[EventKind] | EventKind,
    seen: list[LineEvent] | None = None,
    pred: Callable[[LineEvent], bool] | None = None,
) -> LineEvent:
    """Events until one of ``kinds`` (matching ``pred``) arrives; the others go to ``seen``."""
    want = {kinds} if isinstance(kinds, EventKind) else kinds
    async for event in line.events():
        if seen is not None:
            seen.append(event)
        if event.kind in want and (pred is None or pred(event)):
            return event
    raise AssertionError(f"events ended before {want}")
