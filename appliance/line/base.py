"""The one phone-line interface every driver implements (``sim``, ``v253``, ``usbbox``).

A driver is a device edge: it knows rings, caller ID, the hook, audio and dialing,
and nothing of menus, contacts, MQTT or the page. The call flow
(``appliance/calls/``) drives it only through :class:`LineDriver`.

Audio crosses this interface as 16-bit signed little-endian linear PCM, mono, at
``AUDIO_RATE`` Hz; a driver converts to and from its device's format (a V.253
modem's ``+VSM`` codec, a USB box's sound card). Every driver runs the project's
line DSP (:class:`appliance.dsp.chain.LineDsp`) over the audio it receives, so
DTMF, call-progress tones and caller ID are found even where the device reports
nothing; where the device reports them too (``<DLE>`` events), both arrive as
events with their ``source`` and the call flow keeps each key once.

Rules every driver keeps:

- ``on_hook()`` is idempotent and is what ``close()`` and any error path end with:
  the line is never left off-hook after a call.
- a device that disappears emits ``LineEvent("device_lost")``, the driver waits for
  it to come back by itself (``device_back``), and the call in hand ends cleanly.
- events are delivered in order through a bounded queue (``EVENT_QUEUE_BOUND``);
  on overflow the oldest audio-derived events are dropped and counted.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

AUDIO_RATE = 8000
EVENT_QUEUE_BOUND = 512


class LineState(enum.StrEnum):
    IDLE = "idle"
    RINGING = "ringing"
    OFF_HOOK = "off_hook"  # answered or dialing: audio flows
    GONE = "gone"  # device unplugged, waiting for it to come back


class EventKind(enum.StrEnum):
    RING = "ring"  # one ring burst began (data: cadence index)
    CALLER_ID = "caller_id"  # data: the INTERFACES §2 caller_id dict (number, name, reason, format, modulation)
    DTMF = "dtmf"  # data: digit
    TONE = "tone"  # data: tone (dial, ringback, busy, congestion), country
    SILENCE = "silence"  # data: seconds of continuous silence so far
    HANGUP = "hangup"  # the far end went away (<DLE>l, loop current drop, busy/reorder after a call)
    RINGS_STOPPED = "rings_stopped"  # ringing ended without an answer (caller gave up / desk picked up)
    DESK_OFF_HOOK = "desk_off_hook"  # an extension on the same line was picked up (where detectable)
    DEVICE_LOST = "device_lost"
    DEVICE_BACK = "device_back"


@dataclass(frozen=True)
class LineEvent:
    """One thing the line did; ``source`` is ``dsp`` (our DSP on the audio) or ``device``."""

    kind: EventKind
    at: float  # time.monotonic() when it happened
    source: str = "device"
    data: dict[str, Any] = field(default_factory=dict)


class PlayEnd(enum.StrEnum):
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # stop_play() or a DTMF key (barge-in)
    HANGUP = "hangup"
    DEVICE_LOST = "device_lost"


class DialResult(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    NO_DIALTONE = "no_dialtone"
    FAILED = "failed"


@dataclass(frozen=True)
class Capabilities:
    """What the device can tell by itself (the DSP covers the rest)."""

    device_dtmf: bool = False
    device_caller_id: bool = False
    device_progress_tones: bool = False
    detects_desk_pickup: bool = False  # an extension going off-hook can be seen
    full_duplex: bool = True  # play and listen at once (barge-in needs it)
    simulated: bool = False


class LineDriver(abc.ABC):
    """A phone line. Open it, read its events, answer, play, record, dial, hang up."""

    name = "line"
    capabilities = Capabilities()

    @abc.abstractmethod
    async def open(self) -> None:
        """Open and initialise the device (raises DeviceError if it is not there)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """On-hook, stop audio, release the device. Never blocks the loop."""

    @abc.abstractmethod
    def events(self) -> AsyncIterator[LineEvent]:
        """Every event in order, until close()."""

    @property
    @abc.abstractmethod
    def state(self) -> LineState: ...

    @abc.abstractmethod
    async def off_hook(self) -> None:
        """Answer (or seize the line for dialing); audio starts flowing."""

    @abc.abstractmethod
    async def on_hook(self) -> None:
        """Hang up. Idempotent; safe when the device is gone."""

    @abc.abstractmethod
    async def play(self, pcm: bytes, *, barge_in: bool = True) -> PlayEnd:
        """Play PCM to the line; with ``barge_in`` a DTMF key stops it at once (the key is still an event)."""

    @abc.abstractmethod
    async def stop_play(self) -> None: ...

    @abc.abstractmethod
    async def record(self, max_seconds: float, *, end_keys: str = "#", max_silence: float = 10.0) -> tuple[bytes, str]:
        """Record line audio until an end key, ``max_silence`` s of silence, hang-up or
        ``max_seconds``; returns (pcm, why) with why in ``key``, ``silence``, ``hangup``,
        ``max_length``, ``device_lost``."""

    @abc.abstractmethod
    async def dial(self, number: str, *, timeout: float = 45.0) -> DialResult:
        """Go off-hook and dial ``number`` (digits, *, #, ','); wait for the result."""
