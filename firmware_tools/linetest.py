"""The line self-test: off-hook, dial tone heard by the line DSP, on-hook."""

from __future__ import annotations

import asyncio
from typing import Any

from appliance.dsp.chain import decode
from appliance.errors import DeviceError
from firmware_tools.voice import RATE, open_voice

LISTEN_S = 3.0


def _self_test(port: str, baudrate: int, country: str | None) -> tuple[bool, str, dict[str, Any]]:
    modem, fmt = open_voice(port, baudrate)
    try:
        modem.command("AT+VLS=1")  # off-hook, line to the modem
        pcm, events = modem.receive(LISTEN_S, fmt)
    finally:
        modem.hang_up()
        modem.close()
    found = decode(pcm, RATE, country=country)
    tones = [e.get("tone") for e in found if e.get("type") == "tone"]
    info = {"format": fmt.name, "seconds": round(len(pcm) / 2 / RATE, 2), "tones": tones, "modem_events": events}
    if "dial" in tones:
        return True, "off-hook, dial tone heard by the DSP, on-hook", info
    if not pcm:
        return False, "off-hook but no audio came from the modem (AT+VRX)", info
    heard = tones or "nothing"
    return False, f"off-hook: no dial tone in {LISTEN_S:.0f} s (heard {heard}); is the line plugged in?", info


async def line_self_test(port: str, baudrate: int, country: str | None = None) -> tuple[bool, str, dict[str, Any]]:
    try:
        return await asyncio.to_thread(_self_test, port, baudrate, country)
    except DeviceError as err:
        return False, f"line self-test failed: {err}", {}
