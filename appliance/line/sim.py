"""The simulated phone line (``line.driver = "sim"``, the embedded default).

:class:`SimExchange` is the exchange, the caller and the desk phone as one model
advanced 20 ms at a time: it produces the *audio* a real line would carry (ring
signalling as device events, caller ID as FSK or DTMF audio in each standard's
timing, keypresses as DTMF audio, ringback/busy/congestion tones, a speech-like
voice, the echo of what the appliance plays) and :class:`SimLine` runs it through
the same :class:`~appliance.line.core.AudioLine` path (``LineDsp``) as the real
drivers: DTMF, caller ID, hang-up tones and dial results are found in the audio,
not injected behind the DSP. Only what a device reports by itself is an event:
rings, the desk phone going off-hook, and (in hang-up mode ``event``) the loop
current dropping.

Drive it from Python (``line.exchange.incoming(...)``), from its control socket
(one JSON object per line, e.g. ``{"op": "ring", "number": "0401234567"}``) or
with ``appliance line sim ring --number ...``. Time runs at ``speed`` times real
time (``0``: as fast as the loop goes; tests use it); all durations are line time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance import sim_traffic
from appliance.aio import cancel_and_wait
from appliance.line import signals
from appliance.line.base import Capabilities, DialResult, EventKind, LineState
from appliance.line.core import DEFAULT_HANGUP_SILENCE_S, FRAME_BYTES, FRAME_S, AudioLine

log = logging.getLogger(__name__)

HANGUP_MODES = ("event", "busy", "congestion", "silence")
DIAL_RESULTS = ("answered", "busy", "congestion", "no_answer", "no_dialtone")
SCRIPT_OPS = ("wait", "speech", "keys", "hangup")
MAX_PENDING_AUDIO_S = 600.0  # far-end audio queued ahead (a script longer than this is refused)
MAX_SCRIPT_STEPS = 200
MAX_CONTROL_LINE = 1 << 16
MAX_DIAL_PLANS = 100
LINGER_S = 10.0  # line time the model keeps running after the last activity
DEFAULT_MAX_RINGS = 10

Step = tuple[str, Any]


def _check_script(script: Any) -> list[Step]:
    if script is None:
        return []
    if not isinstance(script, list) or len(script) > MAX_SCRIPT_STEPS:
        raise ValueError(f"script: a list of at most {MAX_SCRIPT_STEPS} [op, arg] steps")
    steps: list[Step] = []
    for step in script:
        if not isinstance(step, (list, tuple)) or len(step) != 2 or step[0] not in SCRIPT_OPS:
            raise ValueError(f"script step {step!r}: [op, arg] with op in {SCRIPT_OPS}")
        op, arg = step
        if op in ("wait", "speech"):
            arg = float(arg)
            if not 0 <= arg <= MAX_PENDING_AUDIO_S:
                raise ValueError(f"script step {step!r}: 0-{MAX_PENDING_AUDIO_S:.0f} s")
        elif op == "keys":
            arg = str(arg)
            if not arg or any(c not in "0123456789*#ABCD" for c in arg.upper()):
                raise ValueError(f"script step {step!r}: keys are 0-9 * # A-D")
        elif arg not in HANGUP_MODES:
            raise ValueError(f"script step {step!r}: hang-up mode is one of {HANGUP_MODES}")
        steps.append((op, arg))
    return steps


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    gen: int = field(compare=False)
    action: Callable[[], None] = field(compare=False)


class SimExchange:
    """The line as the appliance's device sees it, one 20 ms frame at a time (not thread-safe:
    everything runs on the event loop)."""

    def __init__(
        self,
        country: str = "FI",
        *,
        standard: str = "",
        echo_db: float = -30.0,
        seed: int = 0,
    ) -> None:
        if standard and standard not in signals.STANDARDS:
            raise ValueError(f"caller-ID standard must be one of {signals.STANDARDS}")
        self.country = country.upper()
        self.standard = standard or signals.standard_for(self.country)
        self.echo_gain = 10 ** (echo_db / 20) if echo_db > -90 else 0.0
        self.rng = random.Random(seed)
        self.now = 0.0
        self.state = "idle"  # idle, ringing, call, desk_call, far_gone, dialtone, outgoing, dead
        self.appliance_off_hook = False
        self.desk_off_hook = False
        self.rings = 0
        self.max_rings = DEFAULT_MAX_RINGS
        self.caller: dict[str, Any] = {}
        self.calls = 0
        self.heard_s = 0.0  # seconds of appliance audio the far end heard
        self.last_dialed = ""
        self.dial_plans: dict[str, tuple[str, float]] = {}  # number ("" = next dial) -> (result, ring_s)
        self.unplugged = False
        # what a device with its own DSP reports by itself (the V.253 simulator's chip); the
        # sim driver wants none of it: it finds everything in the audio
        self.keys_audio = True  # keys are DTMF audio on the line (False: the chip mutes them)
        self.report_keys = False  # a DTMF device event when a key's audio starts
        self.report_cid = False  # a caller_id device event when the caller-ID signal has ended
        self.report_tones = False  # a tone device event when busy/congestion/ringback/dial starts
        self._script: deque[Step] = deque()
        self._audio: deque[bytes] = deque()
        self._audio_bytes = 0
        self._loop: bytes | None = None
        self._loop_pos = 0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._gen = 0  # timers of an older call are ignored
        self._events: list[tuple[EventKind, dict[str, Any]]] = []
        self._last_activity = 0.0
        self.wake: Callable[[], None] = lambda: None

    # -- what the outside world does --------------------------------------------

    def incoming(
        self,
        number: str | None,
        name: str | None = None,
        *,
        standard: str | None = None,
        reason: str | None = None,
        script: Any = None,
        max_rings: int = DEFAULT_MAX_RINGS,
    ) -> None:
        """A call arrives: caller ID in ``standard``'s timing and the ring cadence."""
        std = standard or self.standard
        if std not in signals.STANDARDS:
            raise ValueError(f"caller-ID standard must be one of {signals.STANDARDS}, got {std!r}")
        if self.state != "idle" or self.appliance_off_hook:
            raise ValueError(f"the line is busy ({self.state})")
        if not 1 <= max_rings <= 50:
            raise ValueError("max_rings: 1-50")
        steps = _check_script(script)
        cid = signals.caller_id_audio(std, number, name, reason=reason)
        cid_data = {"number": number, "name": name, "reason": reason, "standard": std}
        self._new_call()
        self.state = "ringing"
        self.calls += 1
        self.rings = 0
        self.max_rings = max_rings
        self.caller = {"number": number, "name": name, "standard": std, "reason": reason}
        self._script = deque(steps)
        cad = signals.ring_cadence(self.country)
        cid_s = len(cid) / 16000
        if std == "bell202":
            self._after(0.1, self._ring)
            cid_at = 0.1 + cad[0] + 0.6
            self._after(cid_at, lambda: self._push(cid))
        elif std == "v23":
            lead = 0.3  # after the line reversal
            self._after(lead, lambda: self._push(signals.alert_tone() + signals.silence(0.1, 8000) + cid))
            cid_at = lead + signals.ALERT_S + 0.1
            self._after(cid_at + cid_s + 0.5, self._ring)
        else:
            cid_at = 0.3
            self._after(cid_at, lambda: self._push(cid))
            self._after(cid_at + cid_s + 0.4, self._ring)
        if self.report_cid:
            self._after(cid_at + cid_s + 0.02, lambda: self._event(EventKind.CALLER_ID, **cid_data))
        self.wake()

    def keys(self, digits: str) -> None:
        """The far end presses keys (DTMF audio on the line)."""
        self._require_far_end()
        self._push_keys(str(_check_script([["keys", digits]])[0][1]))

    def speak(self, seconds: float = 2.0) -> None:
        self._require_far_end()
        self._push(self._speech(seconds))

    def far_hangup(self, mode: str = "event") -> None:
        """The caller hangs up; ``mode`` is what the line shows afterwards."""
        if mode not in HANGUP_MODES:
            raise ValueError(f"hang-up mode is one of {HANGUP_MODES}")
        if self.state not in ("call", "desk_call", "outgoing", "ringing"):
            raise ValueError(f"no call to hang up ({self.state})")
        if self.state == "ringing":
            self._caller_gave_up()
            return
        self._audio.clear()
        self._audio_bytes = 0
        self._script.clear()
        self.state = "far_gone"
        self.desk_off_hook = False
        if mode == "event":
            self._event(EventKind.HANGUP, reason="loop_current")
            self._set_loop(None)
        elif mode in ("busy", "congestion"):
            self._push(signals.silence(0.4, 8000))
            self._set_loop(signals.progress_cycle(mode, self.country), mode)
        else:
            self._set_loop(None)
        self.wake()

    def desk_pickup(self) -> None:
        """Someone lifts the desk phone on the same line."""
        self.desk_off_hook = True
        self._event(EventKind.DESK_OFF_HOOK)
        if self.state == "ringing":
            self._gen += 1  # no more rings
            self._timers.clear()
            self.state = "desk_call"
            self._script.clear()
            self._push(self._speech(2.0))
        elif self.state in ("call", "idle"):
            self.state = "desk_call"
        self.wake()

    def desk_hangup(self) -> None:
        self.desk_off_hook = False
        if self.state == "desk_call" and not self.appliance_off_hook:
            self._end_call()
        self.wake()

    def plan_dial(self, result: str, *, number: str = "", ring_s: float = 3.0) -> None:
        """What the next dial (or every dial to ``number``) meets."""
        if result not in DIAL_RESULTS:
            raise ValueError(f"dial result is one of {DIAL_RESULTS}")
        if len(self.dial_plans) >= MAX_DIAL_PLANS and number not in self.dial_plans:
            raise ValueError(f"at most {MAX_DIAL_PLANS} planned dials")
        self.dial_plans[number] = (result, max(0.0, float(ring_s)))

    # -- what the appliance's device does ------------------------------------------

    def off_hook(self) -> None:
        self.appliance_off_hook = True
        if self.state == "ringing":
            self._gen += 1
            self._timers.clear()
            self._audio.clear()
            self._audio_bytes = 0
            self.state = "call"
            self._run_script()
        elif self.state == "idle":
            plan = self.dial_plans.get("")
            if plan and plan[0] == "no_dialtone":
                del self.dial_plans[""]
                self.state = "dead"
                self._set_loop(None)
            else:
                self.state = "dialtone"
                self._set_loop(signals.progress_cycle("dial", self.country), "dial")
        self.wake()

    def on_hook(self) -> None:
        self.appliance_off_hook = False
        if self.state in ("call", "far_gone", "dialtone", "outgoing", "dead"):
            self._end_call()
        self.wake()

    def dial(self, number: str) -> None:
        """The device sends the digits (the exchange reads them)."""
        self.last_dialed = number
        if self.state == "dead":
            return
        plan = self.dial_plans.pop("", None) or self.dial_plans.get(number)
        result, ring_s = plan or ("answered", 5.0)
        self._set_loop(None)
        self._audio.clear()
        self._audio_bytes = 0
        self.state = "outgoing"
        self._push(signals.silence(0.5, 8000))
        if result in ("busy", "congestion"):
            self._set_loop(signals.progress_cycle(result, self.country), result)
        elif result == "no_answer":
            self._set_loop(signals.progress_cycle("ringback", self.country), "ringback")
        elif result == "answered":
            self._push(signals.progress_tone("ringback", self.country, ring_s))
            self._after(0.5 + ring_s, self._answered)
        self.wake()

    # -- the frame clock -------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Anything happening (else the driver may sleep until woken)."""
        return (
            self.state != "idle"
            or self.appliance_off_hook
            or bool(self._timers)
            or self.now - self._last_activity < LINGER_S
        )

    def frame(self, played: bytes | None) -> tuple[bytes, list[tuple[EventKind, dict[str, Any]]]]:
        """Advance 20 ms: the audio the appliance's device receives, and device events."""
        self.now += FRAME_S
        while self._timers and self._timers[0].when <= self.now:
            timer = heapq.heappop(self._timers)
            if timer.gen == self._gen:
                timer.action()
        if self.state != "idle" or self.appliance_off_hook:
            self._last_activity = self.now
        if self._audio:
            pcm = self._take()
        elif self._loop is not None:
            pcm = self._loop_frame()
        else:
            pcm = bytes(FRAME_BYTES)
            if self.state == "call" and self._script:
                self._run_script()
        hears = self.appliance_off_hook or self.state == "ringing"
        if not hears:
            pcm = bytes(FRAME_BYTES)
        if played is not None and self.appliance_off_hook:
            if self.state in ("call", "desk_call", "outgoing"):
                self.heard_s += FRAME_S
            if self.echo_gain:
                pcm = signals.mix(pcm, played, self.echo_gain)
        events, self._events = self._events, []
        return pcm, events

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "line_time": round(self.now, 2),
            "appliance_off_hook": self.appliance_off_hook,
            "desk_off_hook": self.desk_off_hook,
            "rings": self.rings,
            "caller": self.caller,
            "calls": self.calls,
            "heard_s": round(self.heard_s, 2),
            "last_dialed": self.last_dialed,
            "country": self.country,
            "standard": self.standard,
            "far_end_audio_s": round(self._audio_bytes / 16000, 2),
            "unplugged": self.unplugged,
        }

    # -- inside ----------------------------------------------------------------------------

    def _require_far_end(self) -> None:
        if self.state not in ("call", "desk_call", "outgoing"):
            raise ValueError(f"no far end to do that ({self.state})")

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, _Timer(self.now + seconds, next(self._seq), self._gen, action))

    def _event(self, kind: EventKind, **data: Any) -> None:
        self._events.append((kind, data))

    def _push(self, pcm: bytes) -> None:
        if self._audio_bytes + len(pcm) > MAX_PENDING_AUDIO_S * 16000:
            raise ValueError(f"more than {MAX_PENDING_AUDIO_S:.0f} s of far-end audio queued")
        self._audio.append(pcm)
        self._audio_bytes += len(pcm)

    def _push_keys(self, digits: str) -> None:
        audio = signals.keys(digits)
        if self.report_keys:
            start = self._audio_bytes / 16000
            step = signals.KEY_ON_S + signals.KEY_OFF_S
            for i, digit in enumerate(digits):
                self._after(start + i * step, functools.partial(self._event, EventKind.DTMF, digit=digit))
        self._push(audio if self.keys_audio else bytes(len(audio)))

    def _take(self) -> bytes:
        out = bytearray()
        while self._audio and len(out) < FRAME_BYTES:
            head = self._audio[0]
            need = FRAME_BYTES - len(out)
            out += head[:need]
            if len(head) <= need:
                self._audio.popleft()
            else:
                self._audio[0] = head[need:]
        self._audio_bytes -= len(out)
        if len(out) < FRAME_BYTES:
            tail = self._loop_frame()[: FRAME_BYTES - len(out)] if self._loop else bytes(FRAME_BYTES - len(out))
            out += tail
        return bytes(out)

    def _set_loop(self, pcm: bytes | None, tone: str = "") -> None:
        self._loop = pcm or None
        self._loop_pos = 0
        if tone and self.report_tones:
            delay = self._audio_bytes / 16000 + 1.0  # a chip needs a cycle or two to be sure
            self._after(delay, functools.partial(self._tone_if, self._gen, tone))

    def _tone_if(self, gen: int, tone: str) -> None:
        if gen == self._gen:
            self._event(EventKind.TONE, tone=tone)

    def _loop_frame(self) -> bytes:
        assert self._loop is not None
        loop = self._loop
        out = bytearray()
        while len(out) < FRAME_BYTES:
            part = loop[self._loop_pos : self._loop_pos + FRAME_BYTES - len(out)]
            out += part
            self._loop_pos = (self._loop_pos + len(part)) % len(loop)
        return bytes(out)

    def _speech(self, seconds: float) -> bytes:
        base = signals.speech(4.0, seed=self.rng.randrange(4))
        n = int(seconds * 8000) * 2
        return (base * (n // len(base) + 1))[:n]

    def _new_call(self) -> None:
        self._gen += 1
        self._timers.clear()
        self._audio.clear()
        self._audio_bytes = 0
        self._script.clear()
        self._set_loop(None)

    def _ring(self) -> None:
        if self.state != "ringing":
            return
        if self.rings >= self.max_rings:
            self._caller_gave_up()
            return
        self.rings += 1
        self._event(EventKind.RING, cadence_index=self.rings)
        self._after(sum(signals.ring_cadence(self.country)), self._ring)

    def _caller_gave_up(self) -> None:
        self._gen += 1
        self._timers.clear()
        self._audio.clear()
        self._audio_bytes = 0
        self.state = "idle"
        self.wake()

    def _run_script(self) -> None:
        """Queue the caller's next steps as audio, up to a hang-up."""
        while self._script:
            op, arg = self._script.popleft()
            if op == "wait":
                self._push(signals.silence(arg, 8000))
            elif op == "speech":
                self._push(self._speech(arg))
            elif op == "keys":
                self._push_keys(str(arg))
            else:
                self._push(signals.silence(0.02, 8000))
                delay = self._audio_bytes / 16000
                self._after(delay, functools.partial(self._hangup_if, self._gen, str(arg)))
                return

    def _hangup_if(self, gen: int, mode: str) -> None:
        if gen == self._gen and self.state in ("call", "desk_call", "outgoing"):
            self.far_hangup(mode)

    def _answered(self) -> None:
        if self.state == "outgoing":
            self.state = "call"
            self._push(self._speech(1.5))

    def _end_call(self) -> None:
        self._new_call()
        self.state = "desk_call" if self.desk_off_hook else "idle"
        self.caller = {} if self.state == "idle" else self.caller


def exchange_control(ex: SimExchange, req: dict[str, Any]) -> bool:
    """Apply one control request about the line itself (shared by both simulators);
    False when ``op`` is not one of these. Raises ValueError/KeyError/TypeError on bad input."""
    op = req.get("op")
    if op == "ring":
        number = req.get("number")
        ex.incoming(
            str(number) if number else None,
            str(req["name"]) if req.get("name") else None,
            standard=req.get("standard") or None,
            reason=req.get("reason"),
            script=req.get("script"),
            max_rings=int(req.get("rings", DEFAULT_MAX_RINGS)),
        )
    elif op == "keys":
        ex.keys(str(req["digits"]))
    elif op == "speak":
        ex.speak(float(req.get("seconds", 2.0)))
    elif op == "hangup":
        ex.far_hangup(str(req.get("mode", "event")))
    elif op == "desk_pickup":
        ex.desk_pickup()
    elif op == "desk_hangup":
        ex.desk_hangup()
    elif op in ("busy", "no_answer", "answered", "congestion", "no_dialtone"):
        ex.plan_dial(op, number=str(req.get("number", "")), ring_s=float(req.get("ring_s", 3.0)))
    elif op == "dial_plan":
        ex.plan_dial(str(req["result"]), number=str(req.get("number", "")), ring_s=float(req.get("ring_s", 3.0)))
    else:
        return False
    return True


class SimLine(AudioLine):
    """The ``sim`` driver: a :class:`SimExchange` run through the shared audio path."""

    name = "sim"
    capabilities = Capabilities(detects_desk_pickup=True, full_duplex=True, simulated=True)

    def __init__(
        self,
        *,
        country: str = "FI",
        tone_country: str = "",
        standard: str = "",
        speed: float = 1.0,
        control: str | Path | None = None,
        echo_db: float = -30.0,
        seed: int = 0,
        random_calls_per_hour: float = 0.0,
        hangup_silence_s: float = DEFAULT_HANGUP_SILENCE_S,
    ) -> None:
        super().__init__(country=country, tone_country=tone_country, hangup_silence_s=hangup_silence_s)
        if speed < 0:
            raise ValueError("speed: 0 (as fast as possible) or a positive factor")
        self.speed = speed
        self.control_path = Path(control) if control else None
        self.random_calls_per_hour = random_calls_per_hour
        self.exchange = SimExchange(country, standard=standard, echo_db=echo_db, seed=seed)
        self._rng = random.Random(seed + 1)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._server: asyncio.AbstractServer | None = None
        self._opened = False

    @property
    def device(self) -> str:
        return f"sim ({self.exchange.country}, {self.exchange.standard})"

    async def open(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._events.reopen()
        self.exchange.wake = self._wake.set
        self._new_dsp()
        self._task = asyncio.create_task(self._run(), name="line-sim")
        if self.control_path:
            with contextlib.suppress(FileNotFoundError):
                self.control_path.unlink()
            self._server = await asyncio.start_unix_server(
                self._serve_control, path=str(self.control_path), limit=MAX_CONTROL_LINE
            )

    async def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        await self.on_hook()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._server.wait_closed()
            self._server = None
            if self.control_path:
                with contextlib.suppress(FileNotFoundError):
                    self.control_path.unlink()
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        self._events.close()

    # -- device half ----------------------------------------------------------------------

    async def _device_off_hook(self) -> None:
        self.exchange.off_hook()

    async def _device_on_hook(self) -> None:
        self.exchange.on_hook()

    async def _device_dial(self, number: str) -> DialResult | None:
        await self._line_sleep(0.5)  # wait for the dial tone, as a dialer does
        self.exchange.dial(number)
        if self._dialing is not None:
            self._dialing.started = self.line_time
            self._dialing.voice.clear()
            self._dialing.heard_anything = self.exchange.state != "dead"
        return None

    async def _line_sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of line time."""
        until = self.line_time + seconds
        while self.line_time < until and self._task is not None and not self._task.done():
            await asyncio.sleep(FRAME_S / self.speed if self.speed else 0)

    # -- the clock --------------------------------------------------------------------------

    async def _run(self) -> None:
        next_at = time.monotonic()
        frames = 0
        while True:
            if not self.exchange.active and not self.exchange.unplugged:
                self._wake.clear()
                timeout = None
                if self.random_calls_per_hour > 0:
                    timeout = self._rng.expovariate(self.random_calls_per_hour / 3600.0) / max(self.speed, 1.0)
                try:
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                except TimeoutError:
                    self._random_call()
                next_at = time.monotonic()
            if self.exchange.unplugged:
                self._wake.clear()
                await self._wake.wait()
                continue
            played = self.next_play_frame() if self.state == LineState.OFF_HOOK else None
            pcm, events = self.exchange.frame(played)
            for kind, data in events:
                self.emit(kind, "device", **data)
            self.received(pcm)
            frames += 1
            if self.speed:
                next_at += FRAME_S / self.speed
                delay = next_at - time.monotonic()
                if delay < -1.0:
                    next_at = time.monotonic()  # fell behind (loaded machine): do not burst
                await asyncio.sleep(max(0.0, delay))
            elif frames % 5 == 0:
                await asyncio.sleep(0)

    def _random_call(self) -> None:
        if self.exchange.state != "idle":
            return
        number = sim_traffic.caller(self._rng)
        script: list[list[Any]] = [["wait", self._rng.uniform(0.5, 3)]]
        for _ in range(self._rng.randrange(1, 4)):
            script.append(["keys", self._rng.choice("0123#")])
            script.append(["wait", self._rng.uniform(1, 6)])
        script.append(["hangup", self._rng.choice(HANGUP_MODES)])
        with contextlib.suppress(ValueError):
            self.exchange.incoming(number, None, script=script)

    # -- unplug -----------------------------------------------------------------------------

    def unplug(self) -> None:
        self.exchange.unplugged = True
        self.exchange.on_hook()
        self._reset_line_keep_state()
        self.emit(EventKind.DEVICE_LOST, "device")
        self._wake.set()

    def replug(self) -> None:
        self.exchange.unplugged = False
        self.emit(EventKind.DEVICE_BACK, "device")
        self._wake.set()

    def _reset_line_keep_state(self) -> None:
        self._dsp = None
        self._tones = None

    # -- control ------------------------------------------------------------------------------

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    raw = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    reply: dict[str, Any] = {"ok": False, "error": f"request longer than {MAX_CONTROL_LINE} bytes"}
                    writer.write(json.dumps(reply).encode() + b"\n")
                    break
                if not raw:
                    break
                reply = self.control(raw)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def control(self, raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
        """One control request (a JSON object) -> its answer; bad requests say why."""
        ex = self.exchange
        try:
            req = raw if isinstance(raw, dict) else json.loads(raw)
            if not isinstance(req, dict):
                raise ValueError("a JSON object is expected")
            op = req.get("op")
            if exchange_control(ex, req):
                pass
            elif op == "unplug":
                self.unplug()
            elif op == "replug":
                self.replug()
            elif op == "random":
                self.random_calls_per_hour = max(0.0, float(req.get("calls_per_hour", 0)))
                self._wake.set()
            elif op != "state":
                raise ValueError(f"unknown op {op!r}")
            return {"ok": True, "state": self.snapshot()}
        except (ValueError, KeyError, TypeError) as err:
            return {"ok": False, "error": str(err)}

    def snapshot(self) -> dict[str, Any]:
        return {
            "line": str(self.state),
            "line_time": round(self.line_time, 2),
            "speed": self.speed,
            "dropped_events": self.dropped_events,
            "exchange": self.exchange.snapshot(),
        }
