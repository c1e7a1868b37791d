"""Against a real modem: ``APPLIANCE_HW_MODEM_PORT=/dev/ttyUSB2 pytest -m hardware tests/modem``."""

from __future__ import annotations

import asyncio
import os

import pytest

from appliance.modem.modem import GsmModem

pytestmark = pytest.mark.hardware
PORT = os.environ.get("APPLIANCE_HW_MODEM_PORT", "")


@pytest.mark.skipif(not PORT, reason="APPLIANCE_HW_MODEM_PORT names no modem")
def test_real_modem_initialises_and_reports_state() -> None:
    async def main() -> None:
        modem = GsmModem(
            PORT,
            int(os.environ.get("APPLIANCE_HW_MODEM_BAUD", "115200")),
            pin=os.environ.get("APPLIANCE_HW_MODEM_PIN", ""),
        )
        await modem.open()
        try:
            info = await modem.initialise()
            assert info.storage_total >= 0
            await modem.signal()
            assert await modem.registration() in ("home", "roaming", "searching", "denied", "not registered", "unknown")
            await modem.list_messages(4)
        finally:
            modem.close()

    asyncio.run(main())
