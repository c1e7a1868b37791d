"""A simulated USB line box: HID and audio backends you drive like the real device.

In the style of gpiozero's mock pin factory: :class:`SimulatedBox` owns a
:class:`~appliance.line.sim.SimExchange` (the line, the caller and the desk phone)
and hands the driver a HID backend whose input reports carry the ring, extension
and loop-current bits of the box's profile, and an audio backend that streams the
line's 20 ms frames and takes what the driver plays. The output reports the driver
writes take the line off-hook and back; the DTMF digits it plays to dial are heard
by the exchange (a DTMF receiver on the played audio), as a real exchange would.
Unplug and replug it like a cable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from appliance.dsp.dtmf import DtmfReceiver
from appliance.errors import DeviceGone
from appliance.line import signals
from appliance.line.base import EventKind
from appliance.line.core import FRAME_BYTES, FRAME_S
from appliance.line.sim import SimExchange
from appliance.line.usbbox_profiles import SIMBOX, UsbBoxProfile

MAX_REPORTS = 64
DIGIT_TIMEOUT_S = 1.0  # the exchange dials after this long without a new digit


class SimulatedBox:
    """The box and the line behind it. Pass ``box.hid`` and ``box.audio`` to UsbBoxLine."""

    def __init__(
        self,
        profile: UsbBoxProfile = SIMBOX,
        *,
        country: str = "FI",
        standard: str = "",
        speed: float = 0.0,
        echo_db: float = -30.0,
        seed: int = 0,
    ) -> None:
        self.profile = profile
        self.speed = speed
        self.exchange = SimExchange(country, standard=standard, echo_db=echo_db, seed=seed)
        self.hid = SimHid(self)
        self.audio = SimAudio(self)
        self.off_hook = False
        self.unplugged = False
        self.reports_written: list[bytes] = []
        self._ring_until = 0.0
        self._report = bytes(profile.report_len)
        self._played: bytes | None = None
        self._digits = ""
        self._last_digit_at = 0.0
        self._dtmf = DtmfReceiver(8000)
        self._frames = 0

    # -- driving it from outside --------------------------------------------------

    def unplug(self) -> None:
        self.unplugged = True
        self.exchange.on_hook()
        self.off_hook = False
        self.hid.wake()

    def replug(self) -> None:
        self.unplugged = False

    def state(self) -> dict[str, Any]:
        return {
            "off_hook": self.off_hook,
            "unplugged": self.unplugged,
            "report": self._report.hex(),
            "exchange": self.exchange.snapshot(),
        }

    # -- the device side ---------------------------------------------------------------

    def host_report(self, report: bytes) -> None:
        if self.unplugged:
            raise DeviceGone("USB line box unplugged")
        self.reports_written.append(bytes(report))
        del self.reports_written[:-100]
        if report == self.profile.off_hook_report and not self.off_hook:
            self.off_hook = True
            self._digits = ""
            self._dtmf = DtmfReceiver(8000)
            self.exchange.off_hook()
        elif report == self.profile.on_hook_report and self.off_hook:
            self.off_hook = False
            self.exchange.on_hook()

    def next_frame(self) -> bytes:
        played, self._played = self._played, None
        if (played is not None and self.off_hook and self.exchange.state == "dialtone") or self._digits:
            self._hear_digits(played)
        pcm, events = self.exchange.frame(played if self.off_hook else None)
        for kind, _data in events:
            if kind == EventKind.RING:
                self._ring_until = self.exchange.now + signals.ring_cadence(self.exchange.country)[0]
        self._update_report()
        self._frames += 1
        return pcm

    def host_audio(self, pcm: bytes) -> None:
        self._played = pcm

    def _hear_digits(self, played: bytes | None) -> None:
        now = self.exchange.now
        if played is not None:
            for digit in self._dtmf.feed(played):
                self._digits += digit.digit
                self._last_digit_at = now
        if self._digits and now - self._last_digit_at >= DIGIT_TIMEOUT_S:
            number, self._digits = self._digits, ""
            self.exchange.dial(number)

    def _update_report(self) -> None:
        p = self.profile
        report = bytearray(p.report_len)
        ex = self.exchange
        bits = [
            (p.ring, ex.state == "ringing" and ex.now < self._ring_until),
            (p.extension_off_hook, ex.desk_off_hook),
            (p.loop_current, self.off_hook and ex.state in ("call", "desk_call", "dialtone", "outgoing")),
        ]
        for bit, on in bits:
            if bit is None or bit.byte >= len(report):
                continue
            if on != bit.active_low:
                report[bit.byte] |= bit.mask
        new = bytes(report)
        if new != self._report:
            self._report = new
            self.hid.push(new)


class SimHid:
    """The box's HID interface: input reports when a bit changes; output reports to the box."""

    def __init__(self, box: SimulatedBox) -> None:
        self.box = box
        self._queue: asyncio.Queue[bytes | None] | None = None
        self.dropped = 0

    async def open(self) -> None:
        if self.box.unplugged:
            raise DeviceGone("USB line box unplugged")
        self._queue = asyncio.Queue(MAX_REPORTS)

    def push(self, report: bytes) -> None:
        if self._queue is None:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(report)

    def wake(self) -> None:
        if self._queue is not None:
            self.push(b"")

    async def read_report(self) -> bytes:
        if self._queue is None:
            raise DeviceGone("HID closed")
        report = await self._queue.get()
        if self.box.unplugged or not report:
            raise DeviceGone("USB line box unplugged")
        return report

    async def write_report(self, report: bytes) -> None:
        self.box.host_report(report)

    async def close(self) -> None:
        self._queue = None


class SimAudio:
    """The box's sound card: 20 ms frames of the line, paced at ``speed`` times real time."""

    def __init__(self, box: SimulatedBox) -> None:
        self.box = box
        self._next = 0.0
        self._open = False

    async def open(self) -> None:
        if self.box.unplugged:
            raise DeviceGone("USB line box unplugged")
        self._open = True
        self._next = asyncio.get_running_loop().time()

    async def read_frame(self) -> bytes:
        if not self._open or self.box.unplugged:
            raise DeviceGone("USB sound card gone")
        loop = asyncio.get_running_loop()
        if self.box.speed:
            self._next += FRAME_S / self.box.speed
            await asyncio.sleep(max(0.0, self._next - loop.time()))
        elif self.box._frames % 5 == 0:
            await asyncio.sleep(0)
        if self.box.unplugged:
            raise DeviceGone("USB sound card gone")
        return self.box.next_frame()

    async def write_frame(self, pcm: bytes) -> None:
        if not self._open or self.box.unplugged:
            raise DeviceGone("USB sound card gone")
        if len(pcm) != FRAME_BYTES:
            raise ValueError(f"frames are {FRAME_BYTES} bytes")
        self.box.host_audio(pcm)

    async def close(self) -> None:
        self._open = False
