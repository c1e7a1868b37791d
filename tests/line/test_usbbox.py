"""The usbbox driver through the simulated box (HID reports and audio frames driven like
the real device): rings from the HID ring bit, caller ID and keys from our DSP on the
box's audio, the desk phone from the extension bit, hang-up from loop current or tones,
dialing by DTMF into the line, and unplug/replug."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from appliance.errors import DeviceError
from appliance.line import signals
from appliance.line.base import DialResult, EventKind, LineEvent, LineState, PlayEnd
from appliance.line.usbbox import UsbBoxLine, find_box
from appliance.line.usbbox_profiles import SIMBOX, Bit, profile_for
from appliance.line.usbbox_sim import SimulatedBox
from tests.line.conftest import run, wait_for_event


@asynccontextmanager
async def box_line(country: str = "FI", **kw: object) -> AsyncIterator[tuple[SimulatedBox, UsbBoxLine]]:
    box = SimulatedBox(country=country, **kw)  # type: ignore[arg-type]
    line = UsbBoxLine(SIMBOX, box.hid, box.audio, country=country, reopen_s=0.05, simulated=True, hangup_silence_s=5)
    await line.open()
    try:
        yield box, line
    finally:
        await line.close()
    assert not box.off_hook, "the driver left the box off-hook"


@pytest.mark.parametrize(("country", "standard"), [("US", "bell202"), ("DE", "v23"), ("FI", "dtmf")])
def test_ring_bit_and_caller_id_from_the_audio(country: str, standard: str) -> None:
    async def main() -> None:
        async with box_line(country) as (box, line):
            box.exchange.incoming("0401234567", "ANNA")
            seen: list[LineEvent] = []
            cid = await wait_for_event(line, EventKind.CALLER_ID, seen)
            assert cid.source == "dsp" and cid.data["number"] == "0401234567"
            assert cid.data["modulation"] == standard
            ring = await wait_for_event(line, EventKind.RING) if standard != "bell202" else seen[0]
            assert ring.kind == EventKind.RING and ring.source == "device"

    run(main())


def test_answer_keys_barge_in_and_loop_current_hang_up() -> None:
    async def main() -> None:
        async with box_line() as (box, line):
            box.exchange.incoming(
                "0401234567", script=[["wait", 1.0], ["keys", "3"], ["wait", 1.0], ["hangup", "event"]]
            )
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            assert box.reports_written[-1] == SIMBOX.off_hook_report
            assert await line.play(signals.speech(4.0) * 3) == PlayEnd.INTERRUPTED
            ev = await wait_for_event(line, EventKind.HANGUP)
            assert (ev.source, ev.data["reason"]) == ("device", "loop_current")
            await line.on_hook()
            assert box.reports_written[-1] == SIMBOX.on_hook_report

    run(main())


@pytest.mark.parametrize(("mode", "reason"), [("busy", "busy_tone"), ("silence", "silence")])
def test_hang_up_shown_only_in_the_audio(mode: str, reason: str) -> None:
    async def main() -> None:
        async with box_line("UK") as (box, line):
            box.exchange.incoming("0401234567", script=[["speech", 1.0], ["hangup", mode]])
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            seen: list[LineEvent] = []
            ev = await wait_for_event(line, EventKind.HANGUP, seen)
            # loop current stays on (the exchange holds the line): the audio tells
            assert ev.data["reason"] in (reason, "loop_current")

    run(main())


def test_desk_pickup_from_the_extension_bit() -> None:
    async def main() -> None:
        async with box_line() as (box, line):
            box.exchange.incoming("0401234567")
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            box.exchange.desk_pickup()
            ev = await wait_for_event(line, EventKind.DESK_OFF_HOOK)
            assert ev.source == "device"
            await line.on_hook()
            assert box.exchange.state == "desk_call"

    run(main())


@pytest.mark.parametrize(
    ("plan", "want"),
    [
        ("answered", DialResult.ANSWERED),
        ("busy", DialResult.BUSY),
        ("no_answer", DialResult.NO_ANSWER),
        ("no_dialtone", DialResult.NO_DIALTONE),
    ],
)
def test_dialing_plays_dtmf_the_exchange_hears(plan: str, want: DialResult) -> None:
    async def main() -> None:
        async with box_line("US") as (box, line):
            box.exchange.plan_dial(plan)
            assert await line.dial("0401234567", timeout=20) == want
            if plan != "no_dialtone":
                assert box.exchange.last_dialed == "0401234567"
            if want == DialResult.ANSWERED:
                await line.on_hook()

    run(main())


def test_unplug_mid_call_and_back() -> None:
    async def main() -> None:
        async with box_line() as (box, line):
            box.exchange.incoming("0401234567")
            await wait_for_event(line, EventKind.RING)
            await line.off_hook()
            play = asyncio.create_task(line.play(signals.speech(4.0) * 10))
            await asyncio.sleep(0.01)
            box.unplug()
            assert await play == PlayEnd.DEVICE_LOST
            await wait_for_event(line, EventKind.DEVICE_LOST) if line.state != LineState.GONE else None
            assert line.state == LineState.GONE
            await line.on_hook()
            await asyncio.sleep(0.1)
            box.replug()
            await wait_for_event(line, EventKind.DEVICE_BACK)
            box.exchange.incoming("0409999999")
            cid = await wait_for_event(line, EventKind.CALLER_ID)
            assert cid.data["number"] == "0409999999"

    run(main())


def test_profiles_and_bits() -> None:
    assert profile_for(0x1209, 0x0001) is SIMBOX
    assert profile_for(0xFFFF, 0xFFFF) is None
    assert Bit(1, 0x10).read(bytes([0, 0x10])) and not Bit(1, 0x10, active_low=True).read(bytes([0, 0x10]))
    assert not Bit(5, 0x01).read(b"\x01")  # a short report is not a ring


def test_no_box_plugged_in_is_a_clear_error() -> None:
    # no such device, or (on a box without libusb) no way to look: either says what to do
    with pytest.raises(DeviceError, match=r"line\.usb_vid_pid|install libusb"):
        find_box("1209:fffe")


class _Dev:
    def __init__(self, vid: int, pid: int) -> None:
        self.idVendor, self.idProduct = vid, pid


class _UsbBus:
    """What pyusb's usb.core.find answers on a bus with these devices."""

    def __init__(self, *devs: _Dev) -> None:
        self.devs = devs

    def find(self, find_all: bool = False, idVendor: int | None = None, idProduct: int | None = None) -> object:
        found = [d for d in self.devs if idVendor in (None, d.idVendor) and idProduct in (None, d.idProduct)]
        return found if find_all else (found[0] if found else None)


def test_the_box_is_found_by_its_usb_id() -> None:
    from appliance.line.usbbox import _find_box

    bus = _UsbBus(_Dev(0x046D, 0xC52B), _Dev(0x1209, 0x0001))
    profile, dev = _find_box(bus, "")
    assert profile is SIMBOX and dev is bus.devs[1]
    generic, _ = _find_box(_UsbBus(_Dev(0x0B0E, 0x0412)), "0b0e:0412")
    assert generic.name == "hid-telephony 0b0e:0412" and (generic.vid, generic.pid) == (0x0B0E, 0x0412)
    with pytest.raises(DeviceError, match="no known USB line box"):
        _find_box(_UsbBus(_Dev(0x046D, 0xC52B)), "")
