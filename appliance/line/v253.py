"""The ``v253`` driver: a USB voice modem (USRobotics 5637, Conexant CX930xx) over pyserial,
driven as NCID and vgetty drive them.

Bring-up: ``ATZ``, ``ATE1 V1``, ``ATI3`` (the model, for the log and health),
``AT+GCI=<country>``, caller ID ``AT+VCID=1`` (else ``AT#CID=1``, else ``AT%CCID=1``;
sent again after every reset, Conexant forgets it), ``AT+FCLASS=8``, ``AT+VSM=?`` and
the best offer at 8000 Hz (16-bit linear, mu-law, A-law, 8-bit linear; converted to
and from our 16-bit PCM). Rings and the ``DATE/TIME/NMBR/NAME`` lines are device
events. Answering is ``AT+VLS=1`` then ``AT+VTR`` (full duplex): the modem's stream,
DLE-unshielded and decoded, runs through the shared :class:`AudioLine` path (our DSP:
DTMF, tones, silence, dial progress) and every frame received sends one frame of
what is playing, so playback is paced by the modem's own clock. ``<DLE>`` events
from the chip arrive too (digits, ``b`` busy, ``l`` loop current dropped, ``H`` the
desk phone on the modem's PHONE jack lifted); either source alone is enough.

Hanging up always ends the stream (``<DLE>!``) and sends ``ATH0``; a modem that
vanishes emits ``device_lost``, the call in hand ends, and the port is reopened
every ``reopen_s`` until it is back (``device_back``), then fully re-initialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from appliance.aio import cancel_and_wait
from appliance.errors import DeviceError, DeviceGone, DeviceTimeout
from appliance.line import dle
from appliance.line.base import Capabilities, DialResult, EventKind, LineState
from appliance.line.core import DEFAULT_HANGUP_SILENCE_S, FRAME_BYTES, AudioLine, _Dialing
from appliance.serialport import SerialTransport, connect

log = logging.getLogger(__name__)

# ITU-T T.35 country codes for AT+GCI (REFERENCE.md; more where known)
GCI_CODES = {"CN": "26", "FI": "3C", "UK": "B4", "GB": "B4", "US": "B5", "SE": "A5", "DE": "42", "JP": "00"}
CID_COMMANDS = ("AT+VCID=1", "AT#CID=1", "AT%CCID=1")
FINALS = frozenset({"OK", "ERROR", "BUSY", "NO ANSWER", "NO DIALTONE", "NO DIAL TONE", "VCON", "CONNECT", "NO CARRIER"})
CID_LINE = re.compile(r"^(DATE|TIME|NMBR|NAME|MESG|DDN_NMBR)\s*=\s*(.*)$")
CID_SETTLE_S = 0.3  # a NMBR line without NAME is reported after this
COMMAND_TIMEOUT_S = 3.0
MAX_LINE = 512
IDLE_TICK_S = 0.25
CHECK_S = 60.0  # an idle modem is checked this often
MAX_UNREAD_PCM = 16000  # decoded audio waiting to make a whole frame (bounded)


class V253Line(AudioLine):
    """See the module docstring."""

    name = "v253"
    capabilities = Capabilities(
        device_dtmf=True,
        device_caller_id=True,
        device_progress_tones=True,
        detects_desk_pickup=True,  # only with the desk phone on the modem's PHONE jack (<DLE>H)
        full_duplex=True,
    )

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        country: str = "FI",
        tone_country: str = "",
        hangup_silence_s: float = DEFAULT_HANGUP_SILENCE_S,
        reopen_s: float = 1.0,
        check_s: float = CHECK_S,
    ) -> None:
        super().__init__(country=country, tone_country=tone_country, hangup_silence_s=hangup_silence_s)
        self.port = port
        self.baudrate = baudrate
        self.reopen_s = reopen_s
        self.model = ""
        self.cid_command = ""
        self.vsm: dle.VsmOffer | None = None
        self.resets = 0
        self.cid_reenabled = 0
        self.check_s = check_s
        self._transport: SerialTransport | None = None
        self._buf = bytearray()
        self._streaming = False
        self._unshield = dle.Unshielder()
        self._pcm = bytearray()
        self._pending: tuple[str, list[str], asyncio.Future[str]] | None = None
        self._cmd_lock = asyncio.Lock()
        self._connect_waiter: asyncio.Future[None] | None = None
        self._cid: dict[str, str] = {}
        self._cid_timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None
        self._clock: asyncio.Task[None] | None = None
        self._vtx: asyncio.Task[None] | None = None
        self._stream_command = ""
        self.duplex: bool | None = None  # found at the first call: AT+VTR accepted or not
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def device(self) -> str:
        return f"{self.port} ({self.model or 'voice modem'})"

    # -- life cycle ------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._events.reopen()
        await self._connect()
        try:
            await self._init()
        except BaseException:
            await self._drop_transport()
            raise
        self._clock = asyncio.get_running_loop().create_task(self._idle_clock(), name="v253-clock")

    async def _idle_clock(self) -> None:
        """On-hook the modem sends no audio: time still passes (rings stop, for one); and now and
        then, while idle, the modem is asked whether caller ID is still on (a modem that reset
        itself forgets it) and whether it answers at all."""
        since_check = 0.0
        while True:
            await asyncio.sleep(IDLE_TICK_S)
            if self._streaming:
                continue
            self.tick_idle(IDLE_TICK_S)
            since_check += IDLE_TICK_S
            if since_check >= self.check_s and self._state == LineState.IDLE and not self._cmd_lock.locked():
                since_check = 0.0
                await self._check_modem()

    async def _check_modem(self) -> None:
        if self._transport is None:
            return
        try:
            if self.cid_command.startswith("AT+VCID"):
                lines = await self._cmd("AT+VCID?")
                if any(x.strip().endswith("0") for x in lines):
                    log.warning("voice modem %s forgot caller ID (reset by itself?); enabling it again", self.port)
                    self.cid_reenabled += 1
                    await self._enable_caller_id()
            else:
                await self._cmd("AT")
        except DeviceError as err:
            log.warning("voice modem %s does not answer (%s); reopening it", self.port, err)
            if self._transport is not None:
                self.connection_lost(err)

    async def close(self) -> None:
        self._closing = True
        if self._clock is not None:
            await cancel_and_wait(self._clock)
            self._clock = None
        if self._reconnect is not None:
            await cancel_and_wait(self._reconnect)
            self._reconnect = None
        if self._state != LineState.GONE:
            await self.on_hook()
        await self._drop_transport()
        self._events.close()

    async def _connect(self) -> None:
        self._buf.clear()
        self._streaming = False
        self._transport = await connect(self.port, self.baudrate, self)

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
            await transport.wait_closed()

    async def _init(self) -> None:
        """Bring-up as NCID/vgetty do it; caller ID again after the reset."""
        await self._cmd("ATZ", timeout=5.0)
        self.resets += 1
        await self._cmd("ATE1 V1")
        with contextlib.suppress(DeviceError):
            lines = await self._cmd("ATI3")
            self.model = next((x for x in lines if x), "") or self.model
        code = GCI_CODES.get(self.country)
        if code:
            try:
                await self._cmd(f"AT+GCI={code}")
            except DeviceError:
                log.warning("voice modem %s: AT+GCI=%s refused; caller ID may show only RING", self.port, code)
        await self._enable_caller_id()
        await self._cmd("AT+FCLASS=8")
        offers = dle.parse_vsm(await self._cmd("AT+VSM=?"))
        choice = dle.choose_vsm(offers)
        if choice is None:
            raise DeviceError(f"voice modem {self.port}: no usable sample format in AT+VSM=? ({offers})")
        await self._cmd(f"AT+VSM={choice.code},8000")
        self.vsm = choice
        log.info(
            "voice modem %s: %s, caller ID by %s, samples %s (%s)",
            self.port,
            self.model or "?",
            self.cid_command or "nothing",
            choice.name,
            choice.encoding,
        )

    async def _enable_caller_id(self) -> None:
        for command in CID_COMMANDS:
            try:
                await self._cmd(command)
            except DeviceError:
                continue
            self.cid_command = command
            return
        self.cid_command = ""
        log.warning("voice modem %s: no caller-ID command accepted (%s)", self.port, ", ".join(CID_COMMANDS))

    # -- bytes from the modem --------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._streaming:
            self._stream(data)
            return
        self._buf += data
        while not self._streaming:
            m = re.search(rb"\r\n|\r|\n", self._buf)
            if m is None:
                if len(self._buf) > MAX_LINE:
                    self._buf.clear()
                return
            raw = bytes(self._buf[: m.start()])
            del self._buf[: m.end()]
            self._line(raw.decode("latin-1").strip())
        if self._buf:
            rest = bytes(self._buf)
            self._buf.clear()
            self._stream(rest)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._closing or self._transport is None:
            return
        log.warning("voice modem %s lost: %s", self.port, exc)
        transport, self._transport = self._transport, None
        transport.close()
        self._fail_pending(DeviceGone(f"voice modem {self.port} is gone"))
        self._streaming = False
        self.emit(EventKind.DEVICE_LOST, "device", port=self.port)  # ends the play/record in hand
        self._reset_line()
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._come_back())

    def _line(self, text: str) -> None:
        if not text:
            return
        pending = self._pending
        if pending is not None and text.upper() == pending[0].upper():
            return  # our command echoed
        if text == "RING":
            self.emit(EventKind.RING, "device")
            return
        m = CID_LINE.match(text)
        if m:
            self._cid_line(m.group(1), m.group(2).strip())
            return
        if pending is not None:
            if text.upper() in FINALS:
                if text.upper() == "CONNECT" and pending[0].upper() in ("AT+VTR", "AT+VRX", "AT+VTX"):
                    self._streaming = True  # the next byte is already the voice stream
                if not pending[2].done():
                    pending[2].set_result(text.upper())
            else:
                pending[1].append(text)
            return
        log.debug("voice modem %s says %r", self.port, text)

    def _cid_line(self, key: str, value: str) -> None:
        self._cid[key] = value
        if self._cid_timer is not None:
            self._cid_timer.cancel()
            self._cid_timer = None
        if key == "NAME" and "NMBR" in self._cid:
            self._flush_cid()
        elif key == "NMBR":
            self._cid_timer = asyncio.get_running_loop().call_later(CID_SETTLE_S, self._flush_cid)

    def _flush_cid(self) -> None:
        self._cid_timer = None
        cid, self._cid = self._cid, {}
        number = cid.get("NMBR", "")
        data: dict[str, Any] = {}  # format/modulation unknown: the chip decoded it (source "device")
        if number in ("P", "O") or not number:
            data["reason"] = "private" if number == "P" else "unavailable"
        else:
            data["number"] = number
        if cid.get("NAME") and cid["NAME"] not in ("P", "O"):
            data["name"] = cid["NAME"]
        if "DATE" in cid and "TIME" in cid:
            data["datetime"] = cid["DATE"] + cid["TIME"]
        self.emit(EventKind.CALLER_ID, "device", **data)

    def _stream(self, raw: bytes) -> None:
        vsm = self.vsm
        items = self._unshield.feed(raw)
        for index, (kind, value) in enumerate(items):
            if kind == "event" and value == "\x03":  # the modem ended the stream: lines follow
                self._streaming = False
                self._unshield.reset()
                rest = b"".join(v if k == "data" else b"\x10" + str(v).encode("latin-1") for k, v in items[index + 1 :])  # type: ignore[misc]
                if rest:
                    self.data_received(rest)
                return
            if kind == "data" and vsm is not None:
                self._pcm += dle.decode(value, vsm.encoding)  # type: ignore[arg-type]
                if len(self._pcm) > MAX_UNREAD_PCM:
                    del self._pcm[: len(self._pcm) - MAX_UNREAD_PCM]
                while len(self._pcm) >= FRAME_BYTES:
                    frame = bytes(self._pcm[:FRAME_BYTES])
                    del self._pcm[:FRAME_BYTES]
                    self.received(frame)
                    self._send_frame()
            elif kind == "event":
                self._dle_event(str(value))

    def _send_frame(self) -> None:
        if self._stream_command != "AT+VTR":
            return  # half duplex: the prompt goes out through AT+VTX
        out = self.next_play_frame()
        if out is None or self._transport is None or self.vsm is None:
            return
        with contextlib.suppress(DeviceError):
            self._transport.write(dle.shield(dle.encode(out, self.vsm.encoding)))

    def _dle_event(self, code: str) -> None:
        if code in "0123456789*#ABCD":
            if self._state == LineState.OFF_HOOK:
                self.emit(EventKind.DTMF, "device", digit=code)
        elif code in "b":
            self.emit(EventKind.TONE, "device", tone="busy")
            dialing = self._dialing
            if dialing is not None and not dialing.done.done():
                dialing.done.set_result(DialResult.BUSY)
            elif self._state == LineState.OFF_HOOK:
                self.emit(EventKind.HANGUP, "device", reason="busy_tone")
        elif code == "d":
            self.emit(EventKind.TONE, "device", tone="dial")
        elif code == "r":
            self.emit(EventKind.TONE, "device", tone="ringback")
        elif code == "l":
            self.emit(EventKind.HANGUP, "device", reason="loop_current")
        elif code == "R":
            self.emit(EventKind.RING, "device")
        elif code == "H":
            self.emit(EventKind.DESK_OFF_HOOK, "device")
        elif code in "sq":
            self.emit(EventKind.SILENCE, "device", detector="modem")  # the chip's own silence period

    # -- commands -------------------------------------------------------------------------

    async def _cmd(
        self, command: str, *, timeout: float = COMMAND_TIMEOUT_S, ok: tuple[str, ...] = ("OK",)
    ) -> list[str]:
        """Send one AT command; its information lines, or DeviceError on another final result."""
        final, lines = await self._cmd_final(command, timeout=timeout)
        if final not in ok:
            raise DeviceError(f"voice modem {self.port}: {command} -> {final}")
        return lines

    async def _cmd_final(self, command: str, *, timeout: float = COMMAND_TIMEOUT_S) -> tuple[str, list[str]]:
        async with self._cmd_lock:
            transport = self._transport
            if transport is None:
                raise DeviceGone(f"voice modem {self.port} is not open")
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            lines: list[str] = []
            self._pending = (command, lines, future)
            try:
                transport.write(command.encode("ascii") + b"\r")
                async with asyncio.timeout(timeout):
                    final = await future
            except TimeoutError:
                raise DeviceTimeout(f"voice modem {self.port}: no answer to {command} in {timeout:.0f} s") from None
            finally:
                self._pending = None
            return final, lines

    def _fail_pending(self, exc: BaseException) -> None:
        if self._pending is not None and not self._pending[2].done():
            self._pending[2].set_exception(exc)

    async def _start_stream(self, command: str = "") -> None:
        """``AT+VTR`` (full duplex) where the modem has it, else ``AT+VRX`` (or ``AT+VTX`` to play on
        a half-duplex modem): after CONNECT everything from the modem is the voice stream."""
        self._unshield.reset()
        self._pcm.clear()
        command = command or ("AT+VRX" if self.duplex is False else "AT+VTR")
        final, _ = await self._cmd_final(command)
        if final == "ERROR" and command == "AT+VTR":
            self.duplex = False
            self.capabilities = Capabilities(
                device_dtmf=True,
                device_caller_id=True,
                device_progress_tones=True,
                detects_desk_pickup=True,
                full_duplex=False,
            )
            log.info("voice modem %s has no AT+VTR: half duplex (AT+VRX to listen, AT+VTX to play)", self.port)
            command = "AT+VRX"
            final, _ = await self._cmd_final(command)
        elif final == "CONNECT" and command == "AT+VTR":
            self.duplex = True
        if final != "CONNECT":
            raise DeviceError(f"voice modem {self.port}: {command} -> {final}")
        self._stream_command = command

    async def _stop_stream(self) -> None:
        if not self._streaming or self._transport is None:
            self._streaming = False
            return
        playing_only = self._stream_command == "AT+VTX"
        # VRX/VTR go on until <DLE><ETX> (the OK after it is a line); VTX sends nothing back but OK
        async with self._cmd_lock:
            waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._pending = ("", [], waiter)
            try:
                if playing_only:
                    self._streaming = False
                self._transport.write(dle.DLE_ETX if playing_only else dle.DLE_ABORT)
                async with asyncio.timeout(2.0):
                    await waiter
            except (TimeoutError, DeviceError):
                log.warning("voice modem %s: no OK after ending the voice stream", self.port)
            finally:
                self._pending = None
                self._streaming = False
                self._stream_command = ""

    # -- playing on a half-duplex modem ------------------------------------------------------

    async def _play_started(self) -> None:
        if self.duplex is not False or self._transport is None or self._state != LineState.OFF_HOOK:
            return
        try:
            await self._stop_stream()  # AT+VRX
            await self._start_stream("AT+VTX")
        except DeviceError as err:
            log.warning("voice modem %s: cannot switch to playing (%s)", self.port, err)
            await self.stop_play()
            return
        self._vtx = asyncio.get_running_loop().create_task(self._vtx_pump(), name="v253-vtx")

    async def _vtx_pump(self) -> None:
        """Send the prompt at 8000 samples/s of real time (nothing comes back to pace it by)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while self._transport is not None and self.vsm is not None:
            out = self.next_play_frame()
            if out is None:
                return
            try:
                self._transport.write(dle.shield(dle.encode(out, self.vsm.encoding)))
            except DeviceError:
                return
            self.tick_idle(FRAME_BYTES / 16000)
            next_at += FRAME_BYTES / 16000
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _play_stopped(self) -> None:
        task, self._vtx = self._vtx, None
        if task is None:
            return
        await cancel_and_wait(task)
        if self._transport is None:
            return
        await self._stop_stream()  # <DLE><ETX>: the modem plays what it holds, then OK
        if self._state == LineState.OFF_HOOK and not self._hangup_sent:
            with contextlib.suppress(DeviceError):
                await self._start_stream()  # listen again

    # -- the device half of AudioLine ---------------------------------------------------------

    async def _device_off_hook(self) -> None:
        await self._cmd("AT+VLS=1", ok=("OK", "VCON"))
        self._new_dsp()
        await self._start_stream()

    async def _device_on_hook(self) -> None:
        if self._transport is None:
            return
        await self._stop_stream()
        try:
            await self._cmd("ATH0")
        except DeviceError as err:
            log.warning("voice modem %s: ATH0 failed (%s); resetting it to be sure it is on-hook", self.port, err)
            with contextlib.suppress(DeviceError):
                await self._init()

    async def _device_dial(self, number: str) -> DialResult | None:  # pragma: no cover - dial() below
        raise NotImplementedError

    async def dial(self, number: str, *, timeout: float = 45.0) -> DialResult:
        """``ATD<number>`` in voice mode; its result, else the call-progress audio after VCON."""
        if self._state == LineState.GONE or self._transport is None:
            return DialResult.FAILED
        if not number or any(c not in "0123456789*#,+ABCDabcdwW" for c in number):
            raise ValueError(f"cannot dial {number!r}")
        self._state = LineState.OFF_HOOK
        self._hangup_sent = False
        try:
            final, _ = await self._cmd_final(f"ATD{number}", timeout=timeout)
        except DeviceError:
            await self.on_hook()
            return DialResult.FAILED
        direct = {
            "BUSY": DialResult.BUSY,
            "NO ANSWER": DialResult.NO_ANSWER,
            "NO DIALTONE": DialResult.NO_DIALTONE,
            "NO DIAL TONE": DialResult.NO_DIALTONE,
            "NO CARRIER": DialResult.NO_ANSWER,
        }.get(final)
        if direct is not None or final != "VCON":
            await self.on_hook()
            return direct or DialResult.FAILED
        future: asyncio.Future[DialResult] = asyncio.get_running_loop().create_future()
        self._dialing = _Dialing(self.line_time, timeout, future, heard_anything=True)
        try:
            self._new_dsp()
            await self._start_stream()
            result = await future
        except DeviceError:
            result = DialResult.FAILED
        finally:
            self._dialing = None
        if result != DialResult.ANSWERED:
            await self.on_hook()
        return result

    # -- coming back ---------------------------------------------------------------------------

    async def _come_back(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.reopen_s)
            try:
                await self._connect()
                await self._init()
            except (DeviceError, OSError) as err:
                log.debug("voice modem %s not back yet: %s", self.port, err)
                await self._drop_transport()
                continue
            log.info("voice modem %s is back", self.port)
            self._reset_line()
            self.emit(EventKind.DEVICE_BACK, "device", port=self.port)
            return
