"""asyncio waits that keep the caller's own cancellation.

Python 3.11's ``asyncio.wait_for`` returns the inner result and swallows the caller's
cancellation when both happen in the same loop tick (fixed in 3.12, gh-86296); a loop
around it then outlives its cancel, and a daemon never exits. ``asyncio.timeout``
does not have that flaw, so product code uses it; and a child task is cancelled and
awaited here without taking the awaiting task's own cancel for the child's.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[object] | asyncio.Future[object] | None,
                          timeout: float | None = None) -> None:
    """Cancel ``tasks`` and wait (up to ``timeout`` s) until they end.

    A child's failure is logged, not raised; the caller's own cancellation is raised as usual.
    """
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    if not live:
        return
    await asyncio.wait(live, timeout=timeout)
    for task in live:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("task %s failed as it was cancelled: %r", _name(task), task.exception())


def _name(task: asyncio.Future[object]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
