"""The ``usbbox`` driver: a USB "voice box" (a USB sound card on the line plus a HID
interface for hook, ring and line state).

The box is found by USB id with pyusb (``line.usb_vid_pid``, else the first box with
a profile in :mod:`appliance.line.usbbox_profiles`); its profile says where the ring,
extension (desk phone) and loop-current bits sit in the HID input report and which
output reports take the line off-hook and back. All detection (caller ID, DTMF,
call progress, silence) is our DSP on the box's audio: the box reports none of it.

Two backends make a box: :class:`HidBackend` (reports in, reports out) and
:class:`AudioBackend` (20 ms frames of 16-bit PCM at 8000 Hz in and out). The real
ones read ``/dev/hidrawN`` and run ``arecord``/``aplay`` (alsa-utils) on the box's
sound card; the simulated ones (:mod:`appliance.line.usbbox_sim`) are driven like the
real device, the way gpiozero's mock pins are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
from pathlib import Path
from typing import Any, Protocol

from appliance.aio import cancel_and_wait
from appliance.errors import DeviceError, DeviceGone
from appliance.line.base import Capabilities, DialResult, EventKind, LineState
from appliance.line.core import DEFAULT_HANGUP_SILENCE_S, FRAME_BYTES, AudioLine
from appliance.line.usbbox_profiles import GENERIC, PROFILES, UsbBoxProfile

log = logging.getLogger(__name__)

MAX_REPORT = 64


class HidBackend(Protocol):
    async def open(self) -> None: ...

    async def read_report(self) -> bytes:
        """The next input report (raises DeviceGone when the box is unplugged)."""

    async def write_report(self, report: bytes) -> None: ...

    async def close(self) -> None: ...


class AudioBackend(Protocol):
    async def open(self) -> None: ...

    async def read_frame(self) -> bytes:
        """The next 20 ms of line audio (FRAME_BYTES; raises DeviceGone when unplugged)."""

    async def write_frame(self, pcm: bytes) -> None: ...

    async def close(self) -> None: ...


class HidrawBackend:
    """A real box's HID interface through ``/dev/hidrawN`` (read in a worker thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    async def open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR)
        except OSError as err:
            raise DeviceGone(f"cannot open {self.path}: {err}") from err

    async def read_report(self) -> bytes:
        fd = self._fd
        if fd is None:
            raise DeviceGone(f"{self.path} is closed")
        try:
            data = await asyncio.get_running_loop().run_in_executor(None, os.read, fd, MAX_REPORT)
        except OSError as err:
            raise DeviceGone(f"{self.path}: {err}") from err
        if not data:
            raise DeviceGone(f"{self.path}: end of file")
        return data

    async def write_report(self, report: bytes) -> None:
        if self._fd is None:
            raise DeviceGone(f"{self.path} is closed")
        try:
            os.write(self._fd, report)
        except OSError as err:
            raise DeviceGone(f"{self.path}: {err}") from err

    async def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class AlsaBackend:
    """A real box's sound card through ``arecord``/``aplay`` pipes (alsa-utils)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._rec: asyncio.subprocess.Process | None = None
        self._play: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        args = ["-q", "-D", self.device, "-f", "S16_LE", "-r", "8000", "-c", "1", "-t", "raw"]
        try:
            self._rec = await asyncio.create_subprocess_exec(
                "arecord", *args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            self._play = await asyncio.create_subprocess_exec(
                "aplay", *args, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError as err:
            await self.close()
            raise DeviceError(f"cannot run arecord/aplay on {self.device} (install alsa-utils): {err}") from err

    async def read_frame(self) -> bytes:
        if self._rec is None or self._rec.stdout is None:
            raise DeviceGone(f"sound card {self.device} is closed")
        try:
            return await self._rec.stdout.readexactly(FRAME_BYTES)
        except asyncio.IncompleteReadError as err:
            raise DeviceGone(f"sound card {self.device} stopped") from err

    async def write_frame(self, pcm: bytes) -> None:
        if self._play is None or self._play.stdin is None:
            raise DeviceGone(f"sound card {self.device} is closed")
        try:
            self._play.stdin.write(pcm)
        except (BrokenPipeError, ConnectionResetError) as err:
            raise DeviceGone(f"sound card {self.device} stopped") from err

    async def close(self) -> None:
        for proc in (self._rec, self._play):
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2.0):
                        await proc.wait()
        self._rec = self._play = None


def find_box(vid_pid: str = "") -> tuple[UsbBoxProfile, object]:
    """The profile and pyusb device of the box ``vid_pid`` names, else of the first known box."""
    import usb.core

    try:
        return _find_box(usb.core, vid_pid)
    except usb.core.NoBackendError as err:
        raise DeviceError(f"pyusb finds no libusb to list USB devices (install libusb-1.0-0): {err}") from err


def _find_box(core: Any, vid_pid: str) -> tuple[UsbBoxProfile, object]:
    if vid_pid:
        vid, pid = (int(x, 16) for x in vid_pid.split(":"))
        dev = core.find(idVendor=vid, idProduct=pid)
        if dev is None:
            raise DeviceGone(f"no USB device {vid_pid} (line.usb_vid_pid)")
        profile = PROFILES.get(vid_pid.lower())
        if profile is None:
            generic = GENERIC["hid-telephony"]
            profile = UsbBoxProfile(**{**generic.__dict__, "vid": vid, "pid": pid, "name": f"hid-telephony {vid_pid}"})
        return profile, dev
    for dev in core.find(find_all=True) or ():
        profile = PROFILES.get(f"{dev.idVendor:04x}:{dev.idProduct:04x}")
        if profile is not None:
            return profile, dev
    raise DeviceGone(f"no known USB line box found (known: {', '.join(PROFILES)}); set line.usb_vid_pid")


def _sysfs_for(vid: int, pid: int, kind: str) -> list[str]:
    """hidraw node names or ALSA card numbers of USB devices with this id (sysfs)."""
    out = []
    root = Path("/sys/class/hidraw" if kind == "hidraw" else "/sys/class/sound")
    for entry in sorted(root.glob("hidraw*" if kind == "hidraw" else "card*")):
        dev = entry.resolve()
        for parent in dev.parents:
            vid_file, pid_file = parent / "idVendor", parent / "idProduct"
            if vid_file.exists() and pid_file.exists():
                try:
                    if int(vid_file.read_text(), 16) == vid and int(pid_file.read_text(), 16) == pid:
                        out.append(entry.name)
                except (OSError, ValueError):
                    pass
                break
    return out


class UsbBoxLine(AudioLine):
    """See the module docstring."""

    name = "usbbox"
    capabilities = Capabilities(detects_desk_pickup=True, full_duplex=True)

    def __init__(
        self,
        profile: UsbBoxProfile,
        hid: HidBackend,
        audio: AudioBackend,
        *,
        country: str = "FI",
        tone_country: str = "",
        hangup_silence_s: float = DEFAULT_HANGUP_SILENCE_S,
        reopen_s: float = 1.0,
        simulated: bool = False,
    ) -> None:
        super().__init__(country=country, tone_country=tone_country, hangup_silence_s=hangup_silence_s)
        self.profile = profile
        self.hid = hid
        self.audio = audio
        self.reopen_s = reopen_s
        if simulated:
            self.capabilities = Capabilities(detects_desk_pickup=True, full_duplex=True, simulated=True)
        self._tasks: list[asyncio.Task[None]] = []
        self._last = bytes(profile.report_len)
        self._closing = False
        self._lost = False

    @classmethod
    def from_config(
        cls,
        *,
        vid_pid: str = "",
        audio: str = "",
        country: str = "FI",
        tone_country: str = "",
        hangup_silence_s: float = DEFAULT_HANGUP_SILENCE_S,
    ) -> UsbBoxLine:
        profile, _dev = find_box(vid_pid)
        nodes = _sysfs_for(profile.vid, profile.pid, "hidraw")
        if not nodes:
            raise DeviceGone(f"USB line box {profile.vid_pid} has no hidraw node (is hid-generic loaded?)")
        if not audio:
            cards = _sysfs_for(profile.vid, profile.pid, "sound")
            if not cards:
                raise DeviceGone(f"USB line box {profile.vid_pid} has no sound card (set line.usb_audio)")
            audio = f"plughw:{cards[0].removeprefix('card')},0"
        return cls(
            profile,
            HidrawBackend(f"/dev/{nodes[0]}"),
            AlsaBackend(audio),
            country=country,
            tone_country=tone_country,
            hangup_silence_s=hangup_silence_s,
        )

    @property
    def device(self) -> str:
        return f"USB line box {self.profile.name} ({self.profile.vid_pid})"

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        self._closing = False
        self._events.reopen()
        await self._open_backends()
        self._start()

    async def _open_backends(self) -> None:
        await self.hid.open()
        try:
            await self.audio.open()
            await self.hid.write_report(self.profile.on_hook_report)  # a known state to start from
        except BaseException:
            await self.hid.close()
            raise
        self._last = bytes(self.profile.report_len)
        self._new_dsp()

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_hid(), name="usbbox-hid"),
            loop.create_task(self._pump_audio(), name="usbbox-audio"),
        ]

    async def close(self) -> None:
        self._closing = True
        if self._state != LineState.GONE:
            await self.on_hook()
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        await self.audio.close()
        await self.hid.close()
        self._events.close()

    # -- the device ---------------------------------------------------------------------

    async def _read_hid(self) -> None:
        try:
            while True:
                report = await self.hid.read_report()
                self._report(report)
        except DeviceGone as err:
            self._gone(err)

    def _report(self, report: bytes) -> None:
        p = self.profile
        before, self._last = self._last, report
        if p.ring.read(report) and not p.ring.read(before):
            self.emit(EventKind.RING, "device")
        ext = p.extension_off_hook
        if ext is not None and ext.read(report) and not ext.read(before):
            self.emit(EventKind.DESK_OFF_HOOK, "device")
        loop = p.loop_current
        if (
            loop is not None
            and self._state == LineState.OFF_HOOK
            and loop.read(before)
            and not loop.read(report)
            and self._dialing is None
        ):
            self.emit(EventKind.HANGUP, "device", reason="loop_current")

    async def _pump_audio(self) -> None:
        try:
            while True:
                frame = await self.audio.read_frame()
                if self._state == LineState.OFF_HOOK or self.profile.audio_on_hook:
                    self.received(frame)
                else:
                    self.tick_idle(len(frame) / 16000)
                out = self.next_play_frame() if self._state == LineState.OFF_HOOK else None
                await self.audio.write_frame(out or bytes(FRAME_BYTES))
        except DeviceGone as err:
            self._gone(err)

    def _gone(self, err: BaseException) -> None:
        if self._closing or self._lost:
            return
        self._lost = True
        log.warning("USB line box lost: %s", err)
        self.emit(EventKind.DEVICE_LOST, "device")
        self._reset_line()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        asyncio.get_running_loop().create_task(self._come_back(), name="usbbox-reopen")

    async def _come_back(self) -> None:
        with contextlib.suppress(Exception):
            await self.audio.close()
        with contextlib.suppress(Exception):
            await self.hid.close()
        while not self._closing:
            await asyncio.sleep(self.reopen_s)
            try:
                await self._open_backends()
            except (DeviceError, OSError) as err:
                log.debug("USB line box not back yet: %s", err)
                continue
            self._lost = False
            self._start()
            self.emit(EventKind.DEVICE_BACK, "device")
            return

    async def _device_off_hook(self) -> None:
        await self.hid.write_report(self.profile.off_hook_report)

    async def _device_on_hook(self) -> None:
        if self._lost:
            return
        await self.hid.write_report(self.profile.on_hook_report)

    async def _device_dial(self, number: str) -> DialResult | None:
        """Wait for the dial tone a moment, then play the digits as DTMF (the box cannot dial)."""
        from appliance.line import signals

        await self._sleep_line(0.8)
        if self._dialing is not None and not self._dialing.heard_anything:
            return DialResult.NO_DIALTONE
        digits = "".join(c for c in number if c in "0123456789*#ABCD")
        await self.play(signals.keys(digits, on_s=0.08, off_s=0.08, level_dbm0=-6.0), barge_in=False)
        if self._dialing is not None:
            self._dialing.started = self.line_time
            self._dialing.voice.clear()
            self._dialing.heard_anything = True
        return None

    async def _sleep_line(self, seconds: float) -> None:
        until = self.line_time + seconds
        while self.line_time < until and not self._lost:
            await asyncio.sleep(0.005)
