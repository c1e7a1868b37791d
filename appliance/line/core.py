"""What every audio-carrying driver shares: the event queue, the DSP on the received
audio, playing, recording, hang-up and dial-progress detection.

A driver subclasses :class:`AudioLine`, implements the device half (``_device_*``)
and calls :meth:`AudioLine.received` with each chunk of line audio it gets (16-bit
LE PCM at 8000 Hz) and :meth:`AudioLine.next_play_frame` for each chunk it sends.
Time inside the driver is *line time*: the seconds of audio received since open,
so a simulated line run faster than real time keeps every timeout consistent.

Detection from the audio (the device may report the same things too):

- DTMF, caller ID (FSK and DTMF) and call-progress tones: :class:`LineDsp` plus a
  tone detector that reports a cadenced tone after its second burst (busy in ~1.5 s)
  instead of when it ends;
- far-end hang-up: busy/congestion tone while off-hook, or ``hangup_silence_s`` of
  silence while nothing is playing;
- dialing: busy/congestion -> BUSY, voice after dialing -> ANSWERED, nothing heard
  at all -> NO_DIALTONE, the timeout -> NO_ANSWER.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import math
import sys
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from appliance.dsp.chain import LineDsp
from appliance.dsp.tones import ToneDetector
from appliance.errors import DeviceGone, UsageError
from appliance.line.base import (
    AUDIO_RATE,
    EVENT_QUEUE_BOUND,
    DialResult,
    EventKind,
    LineDriver,
    LineEvent,
    LineState,
    PlayEnd,
)

log = logging.getLogger(__name__)

FRAME_S = 0.02
FRAME_SAMPLES = int(AUDIO_RATE * FRAME_S)
FRAME_BYTES = 2 * FRAME_SAMPLES
SILENCE_RMS = 80.0  # about -50 dBm0: below this a frame is silence
HANGUP_TONES = ("busy", "congestion")
DEFAULT_HANGUP_SILENCE_S = 20.0
RING_GONE_S = 8.0  # no ring for this long after the last one: the ringing stopped
VOICE_WINDOW_S = 1.0
VOICE_NEEDED_S = 0.4  # this much untoned sound within the window: someone answered
NO_DIALTONE_S = 3.0
AUTO_ON_HOOK_S = 10.0  # after a hang-up nobody acted on, the driver puts the line on-hook itself
MAX_RECORD_S = 3600.0


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit LE samples."""
    n = len(pcm) // 2
    if not n:
        return 0.0
    a = array("h", pcm[: 2 * n])
    if sys.byteorder == "big":
        a.byteswap()
    return math.sqrt(sum(x * x for x in a) / n)


class EventQueue:
    """Bounded, in-order events; on overflow the oldest DSP-derived event goes first."""

    def __init__(self, bound: int = EVENT_QUEUE_BOUND) -> None:
        self.bound = bound
        self.dropped = 0
        self._items: deque[LineEvent] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: LineEvent) -> None:
        if self._closed:
            return
        if len(self._items) >= self.bound:
            victim = next((e for e in self._items if e.source == "dsp"), self._items[0])
            self._items.remove(victim)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("line event queue full (%d): %d events dropped", self.bound, self.dropped)
        self._items.append(event)
        self._ready.set()

    def get_nowait(self) -> LineEvent | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> LineEvent | None:
        """The next event, or None once closed and drained."""
        while not self._items:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    def reopen(self) -> None:
        self._closed = False


class LiveToneDetector(ToneDetector):
    """A tone detector that also names a cadenced tone as soon as two bursts match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per frequency set: (start, end so far) of the tone announced while it sounds
        self._announced: dict[int, tuple[float, float]] = {}

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        done = super().feed(pcm)
        out = [e for e in done if not self._was_announced(e)]
        now = self._samples / self.sample_rate
        for set_index in [k for k in self._announced if k not in self._runs]:
            del self._announced[set_index]
        for set_index, run in self._runs.items():
            ann = self._announced.get(set_index)
            if ann is not None:
                idx = next((i for i, seg in enumerate(run) if abs(seg.start - ann[0]) < 0.002), None)
                if idx is not None and self._match(set_index, run[idx:], now) is not None:
                    self._announced[set_index] = (ann[0], run[-1].end)  # still the same tone
                    continue
            # the run may start with another tone of the same frequencies (dial tone
            # before busy): its tails are tried too
            for first in range(len(run) - 1):
                if ann is not None and run[first].start <= ann[1]:
                    continue
                event = self._match(set_index, run[first:], now)
                if event is not None:
                    self._announced[set_index] = (run[first].start, run[-1].end)
                    event["ongoing"] = True
                    out.append(event)
                    break
        return out

    def _was_announced(self, event: dict[str, Any]) -> bool:
        return any(event["start"] - 0.002 <= start <= event["end"] for start, _ in self._announced.values())

    @property
    def sounding(self) -> bool:
        """A known tone's frequencies are on right now."""
        return int(self._state.cur_set) >= 0


@dataclass
class _Playback:
    pcm: bytes
    barge_in: bool
    done: asyncio.Future[PlayEnd]
    pos: int = 0


@dataclass
class _Recording:
    max_s: float
    end_keys: str
    max_silence: float
    done: asyncio.Future[str]
    pcm: bytearray = field(default_factory=bytearray)


@dataclass
class _Dialing:
    started: float  # line time
    timeout: float
    done: asyncio.Future[DialResult]
    heard_anything: bool = False
    voice: deque[bool] = field(default_factory=lambda: deque(maxlen=int(VOICE_WINDOW_S / FRAME_S)))


class AudioLine(LineDriver):
    """Shared half of a driver whose line audio passes through this process."""

    def __init__(
        self,
        *,
        country: str = "FI",
        tone_country: str = "",
        hangup_silence_s: float = DEFAULT_HANGUP_SILENCE_S,
    ) -> None:
        self.country = country.upper()
        self.tone_country = (tone_country or country).upper()
        self.hangup_silence_s = hangup_silence_s
        self._events = EventQueue()
        self._state = LineState.IDLE
        self._play: _Playback | None = None
        self._rec: _Recording | None = None
        self._dialing: _Dialing | None = None
        self._line_time = 0.0
        self._silence_s = 0.0
        self._last_ring: float | None = None
        self._rings = 0
        self._hangup_sent = False
        self._hangup_at = 0.0
        self._auto_on_hook: asyncio.Task[None] | None = None
        self.auto_on_hook_s = AUTO_ON_HOOK_S
        self._dsp: LineDsp | None = None
        self._tones: LiveToneDetector | None = None
        self.counters: dict[str, int] = {"calls_answered": 0, "hangups": 0, "dsp_events": 0}

    # -- DSP ----------------------------------------------------------------

    def _new_dsp(self) -> None:
        self._dsp = LineDsp(AUDIO_RATE, tones=False)
        try:
            self._tones = LiveToneDetector(AUDIO_RATE, country=self.tone_country)
        except UsageError:  # no table for this country: try every table
            self._tones = LiveToneDetector(AUDIO_RATE)

    @property
    def line_time(self) -> float:
        """Seconds of line audio received since open."""
        return self._line_time

    @property
    def state(self) -> LineState:
        return self._state

    @property
    def dropped_events(self) -> int:
        return self._events.dropped

    # -- events -----------------------------------------------------------------

    def emit(self, kind: EventKind, source: str = "device", **data: Any) -> None:
        """Queue one event and let the audio half react to it (barge-in, hang-up...)."""
        event = LineEvent(kind, time.monotonic(), source, data)
        if kind == EventKind.RING:
            self._last_ring = self._line_time
            self._rings += 1
            if self._state == LineState.IDLE:
                self._state = LineState.RINGING
        elif kind == EventKind.HANGUP:
            if self._hangup_sent or self._state != LineState.OFF_HOOK:
                return
            self._hangup_sent = True
            self._hangup_at = self._line_time
            self.counters["hangups"] += 1
            self._finish_all(PlayEnd.HANGUP, "hangup")
        elif kind == EventKind.DTMF:
            if self._play is not None and self._play.barge_in and not self._play.done.done():
                self._play.done.set_result(PlayEnd.INTERRUPTED)
                self._play = None
            rec = self._rec
            if rec is not None and str(data.get("digit")) in rec.end_keys and not rec.done.done():
                rec.done.set_result("key")
        elif kind == EventKind.DEVICE_LOST:
            self._state = LineState.GONE
            self._finish_all(PlayEnd.DEVICE_LOST, "device_lost")
            if self._dialing is not None and not self._dialing.done.done():
                self._dialing.done.set_result(DialResult.FAILED)
        elif kind == EventKind.DEVICE_BACK:
            self._state = LineState.IDLE
        self._events.put(event)

    async def _iter_events(self) -> AsyncIterator[LineEvent]:
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def events(self) -> AsyncIterator[LineEvent]:
        return self._iter_events()

    def _finish_all(self, play_end: PlayEnd, rec_why: str) -> None:
        if self._play is not None and not self._play.done.done():
            self._play.done.set_result(play_end)
        self._play = None
        if self._rec is not None and not self._rec.done.done():
            self._rec.done.set_result(rec_why)

    # -- audio in -------------------------------------------------------------------

    def received(self, pcm: bytes) -> None:
        """One chunk of line audio from the device (any length; FRAME_BYTES usual)."""
        if self._dsp is None:
            self._new_dsp()
        assert self._dsp is not None and self._tones is not None
        self._line_time += len(pcm) / (2 * AUDIO_RATE)
        found = self._dsp.feed(pcm) + self._tones.feed(pcm)
        for event in found:
            self._dsp_event(event)
        level = rms(pcm)
        quiet = level < SILENCE_RMS
        self._track_silence(quiet, len(pcm) / (2 * AUDIO_RATE))
        self._track_dial(quiet)
        self._track_record(pcm, quiet)
        if (
            self._hangup_sent
            and self._state == LineState.OFF_HOOK
            and self._line_time - self._hangup_at >= self.auto_on_hook_s
            and (self._auto_on_hook is None or self._auto_on_hook.done())
        ):
            log.warning("line: the caller hung up %.0f s ago and nobody hung up; going on-hook", self.auto_on_hook_s)
            self.counters["auto_on_hook"] = self.counters.get("auto_on_hook", 0) + 1
            self._auto_on_hook = asyncio.get_running_loop().create_task(self.on_hook())
        if (
            self._state == LineState.RINGING
            and self._last_ring is not None
            and self._line_time - self._last_ring > RING_GONE_S
        ):
            self._state = LineState.IDLE
            self._last_ring = None
            self.emit(EventKind.RINGS_STOPPED, rings=self._rings)
            self._rings = 0

    def tick_idle(self, seconds: float) -> None:
        """Time passing with no audio (a device that sends none while on-hook)."""
        self._line_time += seconds
        if (
            self._state == LineState.RINGING
            and self._last_ring is not None
            and self._line_time - self._last_ring > RING_GONE_S
        ):
            self._state = LineState.IDLE
            self._last_ring = None
            self.emit(EventKind.RINGS_STOPPED, rings=self._rings)
            self._rings = 0

    def _dsp_event(self, event: dict[str, Any]) -> None:
        self.counters["dsp_events"] += 1
        kind = event.get("type")
        if kind == "dtmf":
            if self._state != LineState.OFF_HOOK or self._dialing is not None:
                return  # caller-ID digits (reported as caller_id) or the echo of our own dialing
            self.emit(EventKind.DTMF, "dsp", digit=event["digit"])
        elif kind == "caller_id":
            data = {k: v for k, v in event.items() if k not in ("type", "start", "end")}
            self.emit(EventKind.CALLER_ID, "dsp", **data)
        elif kind == "tone":
            tone = event["tone"]
            self.emit(EventKind.TONE, "dsp", tone=tone, country=event.get("country"))
            dialing = self._dialing
            if dialing is not None and not dialing.done.done():
                if tone in HANGUP_TONES:
                    dialing.done.set_result(DialResult.BUSY)
            elif tone in HANGUP_TONES and self._state == LineState.OFF_HOOK:
                self.emit(EventKind.HANGUP, "dsp", reason=f"{tone}_tone")

    def _track_silence(self, quiet: bool, seconds: float) -> None:
        if not quiet or self._state != LineState.OFF_HOOK or self._play is not None or self._dialing:
            self._silence_s = 0.0
            return
        before = self._silence_s
        self._silence_s += seconds
        if int(self._silence_s) > int(before):
            self.emit(EventKind.SILENCE, "dsp", seconds=int(self._silence_s))
        if self._silence_s >= self.hangup_silence_s > before:
            self.emit(EventKind.HANGUP, "dsp", reason="silence")

    def _track_dial(self, quiet: bool) -> None:
        dialing = self._dialing
        if dialing is None or dialing.done.done() or self._play is not None:
            return  # while our own digits play, their echo is no answer
        tones = self._tones
        voiced = not quiet and tones is not None and not tones.sounding
        dialing.heard_anything |= not quiet
        dialing.voice.append(voiced)
        if sum(dialing.voice) * FRAME_S >= VOICE_NEEDED_S:
            dialing.done.set_result(DialResult.ANSWERED)
        elif not dialing.heard_anything and self._line_time - dialing.started >= NO_DIALTONE_S:
            dialing.done.set_result(DialResult.NO_DIALTONE)
        elif self._line_time - dialing.started >= dialing.timeout:
            dialing.done.set_result(DialResult.NO_ANSWER)

    def _track_record(self, pcm: bytes, quiet: bool) -> None:
        rec = self._rec
        if rec is None or rec.done.done():
            return
        rec.pcm += pcm
        seconds = len(rec.pcm) / (2 * AUDIO_RATE)
        if seconds >= rec.max_s:
            rec.done.set_result("max_length")
        elif self._silence_s >= rec.max_silence:
            rec.done.set_result("silence")

    # -- audio out --------------------------------------------------------------------

    def next_play_frame(self, nbytes: int = FRAME_BYTES) -> bytes | None:
        """The next ``nbytes`` of audio to send, or None when nothing is playing."""
        play = self._play
        if play is None:
            return None
        chunk = play.pcm[play.pos : play.pos + nbytes]
        play.pos += len(chunk)
        if play.pos >= len(play.pcm):
            self._play = None
            if not play.done.done():
                play.done.set_result(PlayEnd.COMPLETED)
        if len(chunk) < nbytes:
            chunk += bytes(nbytes - len(chunk))
        return chunk

    @property
    def playing(self) -> bool:
        return self._play is not None

    async def play(self, pcm: bytes, *, barge_in: bool = True) -> PlayEnd:
        if self._state == LineState.GONE:
            return PlayEnd.DEVICE_LOST
        if self._hangup_sent:
            return PlayEnd.HANGUP
        if self._state != LineState.OFF_HOOK:
            raise RuntimeError("play() needs the line off-hook")
        await self.stop_play()
        future: asyncio.Future[PlayEnd] = asyncio.get_running_loop().create_future()
        self._play = _Playback(bytes(pcm) if len(pcm) % 2 == 0 else bytes(pcm) + b"\0", barge_in, future)
        await self._play_started()
        try:
            return await future
        finally:
            if self._play is not None and self._play.done is future:
                self._play = None
            await self._play_stopped()

    async def stop_play(self) -> None:
        play = self._play
        self._play = None
        if play is not None and not play.done.done():
            play.done.set_result(PlayEnd.INTERRUPTED)

    async def _play_started(self) -> None:
        """Device hook: audio is about to be sent (e.g. switch the modem to duplex)."""

    async def _play_stopped(self) -> None:
        """Device hook: playing ended."""

    async def record(self, max_seconds: float, *, end_keys: str = "#", max_silence: float = 10.0) -> tuple[bytes, str]:
        if self._state == LineState.GONE:
            return b"", "device_lost"
        if self._hangup_sent:
            return b"", "hangup"
        if self._state != LineState.OFF_HOOK:
            raise RuntimeError("record() needs the line off-hook")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        rec = _Recording(min(max_seconds, MAX_RECORD_S), end_keys, max_silence, future)
        self._rec = rec
        self._silence_s = 0.0
        try:
            why = await future
        finally:
            self._rec = None
        return bytes(rec.pcm), why

    # -- hook and dialing ------------------------------------------------------------

    async def off_hook(self) -> None:
        if self._state == LineState.GONE:
            raise DeviceGone("the line device is gone")
        if self._state == LineState.OFF_HOOK:
            return
        await self._device_off_hook()
        self._state = LineState.OFF_HOOK
        self._hangup_sent = False
        self._silence_s = 0.0
        self._last_ring = None
        self._rings = 0
        self.counters["calls_answered"] += 1

    async def on_hook(self) -> None:
        await self.stop_play()
        if self._rec is not None and not self._rec.done.done():
            self._rec.done.set_result("hangup")
        if self._dialing is not None and not self._dialing.done.done():
            self._dialing.done.set_result(DialResult.FAILED)
        was = self._state
        if was != LineState.GONE:
            self._state = LineState.IDLE
        with contextlib.suppress(Exception):
            await self._device_on_hook()
        self._hangup_sent = False

    async def dial(self, number: str, *, timeout: float = 45.0) -> DialResult:
        if self._state == LineState.GONE:
            return DialResult.FAILED
        bad = [c for c in number if c not in "0123456789*#,+ABCDabcdwW"]
        if bad or not number:
            raise ValueError(f"cannot dial {number!r}")
        await self.off_hook()
        future: asyncio.Future[DialResult] = asyncio.get_running_loop().create_future()
        self._dialing = _Dialing(self._line_time, timeout, future)
        try:
            device = await self._device_dial(number)
            if device is not None and not future.done():
                future.set_result(device)
            result = await future
        finally:
            self._dialing = None
        if result != DialResult.ANSWERED:
            await self.on_hook()
        return result

    @abc.abstractmethod
    async def _device_off_hook(self) -> None: ...

    @abc.abstractmethod
    async def _device_on_hook(self) -> None: ...

    @abc.abstractmethod
    async def _device_dial(self, number: str) -> DialResult | None:
        """Send the digits; return a result the device knows at once, else None (audio decides)."""

    def _reset_line(self) -> None:
        """Forget the call in hand (device lost or reopened)."""
        self._play = None
        self._rec = None
        self._dialing = None
        self._silence_s = 0.0
        self._last_ring = None
        self._rings = 0
        self._hangup_sent = False
        self._dsp = None
        self._tones = None
