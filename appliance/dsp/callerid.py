"""Caller-ID receivers: FSK (Bell 202 and V.23 at once) and DTMF caller-ID assembly.

:class:`CallerIdReceiver` is fed 16-bit LE mono PCM in chunks of any size (the results
do not depend on how the stream is cut) and returns ``caller_id`` event dicts as in
INTERFACES.md §2::

    rx = CallerIdReceiver(8000)
    for chunk in chunks:
        for event in rx.feed(chunk):
            print(event)   # {"type": "caller_id", "number": ..., "modulation": "v23", ...}
    rx.flush()

The demodulation is C (``native/fsk.c``, called with the GIL released; nothing is
allocated per sample). Its decisions compare the mark and space energies, so they do
not depend on the level (-5 to -45 dBm0 tested; under -65 dBm0 the line is taken for
idle). Both demodulators decode each other's signals, so a message decoded twice is
reported once, labelled by the mark frequency measured over its mark run.

:class:`DtmfCallerIdAssembler` takes the digits of the DTMF receiver and recognises
the DTMF caller-ID strings (``A<number>C``, ``A<number>D<redirect>B<code>C``,
``D<number>C``, ``A<number>#``, ``D1#``, ``<number>#``).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from appliance._native import ffi, lib
from appliance.dsp.cid_message import CallerIdMessage, parse_message
from appliance.errors import DecodeError
from appliance.phone import mask

log = logging.getLogger(__name__)

SAMPLE_RATES = (8000, 16000)
MODULATION_NAMES = ("bell202", "v23")
RECENT_MESSAGES = 8  # remembered to drop the second demodulator's copy of a message
DUPLICATE_SLACK_S = 0.1
TIME_DECIMALS = 3

Event = dict[str, Any]


def _classify(modulation: int, mark_hz: float) -> str:
    """Bell 202 or V.23 from the mark frequency measured over the pure mark run before
    the message (the decoding demodulator's own standard if it was not measured)."""
    if math.isnan(mark_hz):
        return MODULATION_NAMES[modulation]
    return MODULATION_NAMES[0 if abs(mark_hz - 1200.0) <= abs(mark_hz - 1300.0) else 1]


NUMBER_CHARS = frozenset("0123456789+*#-() ")
SDMF_DATETIME_LEN = 8


def _plausible(message: CallerIdMessage) -> bool:
    """A number made of dialable characters and, in SDMF, an all-digit date-time: the
    8-bit checksum passes one in 256 corrupted messages (speech makes a few an hour),
    and the bytes of those are almost never these."""
    if message.number and not set(message.number) <= NUMBER_CHARS:
        return False
    if message.format == "sdmf":
        data = message.params[0][1] if message.params else b""
        return data[:SDMF_DATETIME_LEN].isdigit() and len(data) >= SDMF_DATETIME_LEN
    return True


@dataclass(frozen=True)
class FskMessage:
    """A message off the line: type, length, data, checksum (the checksum was right)."""

    raw: bytes
    modulation: str  # "bell202" or "v23", from the measured frequencies
    demodulator: str  # the demodulator that decoded it
    start: int  # samples from the stream start: onset of the FSK signal
    end: int  # end of the checksum character's stop bit
    mark_hz: float  # measured over the mark run (NaN if not measured)


class CallerIdReceiver:
    """Streaming FSK caller-ID receiver: Bell 202 and V.23 demodulators on one stream."""

    def __init__(self, sample_rate: int, *, gate: bool = True) -> None:
        """``gate=False`` demodulates every block over -65 dBm0 (the reference the band
        gate is tested against; slower on speech and noise, same messages)."""
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"caller-ID receiver runs at {SAMPLE_RATES} Hz, not {sample_rate}")
        self.sample_rate = sample_rate
        state = lib.fsk_receiver_new(sample_rate)
        if state == ffi.NULL:
            raise MemoryError("fsk_receiver_new failed")
        self._state = ffi.gc(state, lib.fsk_receiver_free)
        lib.fsk_receiver_set_gate(self._state, int(gate))
        self._msg = ffi.new("fsk_message_t *")
        self._process = lib.fsk_receiver_process_le
        self._ready = ffi.new("int *")
        self._odd = b""
        self._recent: deque[tuple[bytes, int, int]] = deque(maxlen=RECENT_MESSAGES)
        self.undecodable = 0  # checksum right, content not a caller-ID message

    @property
    def bad_checksums(self) -> int:
        """Messages dropped for a wrong checksum (both demodulators)."""
        return sum(lib.fsk_receiver_bad_checksums(self._state, m) for m in range(2))

    @property
    def samples(self) -> int:
        return int(lib.fsk_receiver_samples(self._state))

    def feed(self, pcm: bytes) -> list[Event]:
        """Feeds 16-bit LE mono PCM; returns the caller-ID events completed in it."""
        if not self._odd and not len(pcm) & 1 and type(pcm) is bytes:
            # the common case, kept short: whole samples, no message ends in the chunk
            total = len(pcm) >> 1
            done = self._process(self._state, pcm, total, self._ready)
            if done == total and not self._ready[0]:
                return []
            messages = self._drain(pcm, total, done)
        else:
            messages = self.feed_messages(pcm)
        events: list[Event] = []
        for message in messages:
            event = self._event(message)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[Event]:
        """End of stream: every message ends at its checksum, so nothing is pending."""
        self._odd = b""
        return []

    def feed_messages(self, pcm: bytes) -> list[FskMessage]:
        """Like :meth:`feed`, but returns the raw messages (checksum right, duplicates dropped)."""
        if self._odd:
            pcm = self._odd + pcm
            self._odd = b""
        if len(pcm) & 1:
            self._odd = bytes(pcm[-1:])
            pcm = pcm[:-1]
        if not isinstance(pcm, bytes):
            pcm = bytes(pcm)
        total = len(pcm) >> 1
        if not total:
            return []
        # bytes go to C as they are (little-endian 16-bit, converted there)
        done = self._process(self._state, pcm, total, self._ready)
        if done == total and not self._ready[0]:
            return []  # the common case: no message ended in this chunk
        return self._drain(pcm, total, done)

    def _drain(self, pcm: bytes, total: int, done: int) -> list[FskMessage]:
        """Takes the messages of the call that just returned, then feeds the rest."""
        state, ready = self._state, self._ready
        out: list[FskMessage] = []
        view = ffi.from_buffer(pcm)
        while True:
            if ready[0]:
                while lib.fsk_receiver_take(state, self._msg):
                    message = self._take(self._msg)
                    if message is not None:
                        out.append(message)
            if done >= total:
                return out
            done += self._process(state, view + 2 * done, total - done, ready)

    def _take(self, msg: Any) -> FskMessage | None:
        raw = bytes(ffi.buffer(msg.bytes, msg.len))
        start, end = int(msg.start_sample), int(msg.end_sample)
        slack = DUPLICATE_SLACK_S * self.sample_rate
        for prev_raw, prev_start, prev_end in self._recent:
            if prev_raw == raw and start <= prev_end + slack and prev_start <= end + slack:
                return None  # the other demodulator's copy
        self._recent.append((raw, start, end))
        mark_hz = float(msg.mark_hz)
        demodulator = int(msg.modulation)
        return FskMessage(
            raw=raw,
            modulation=_classify(demodulator, mark_hz),
            demodulator=MODULATION_NAMES[demodulator],
            start=start,
            end=end,
            mark_hz=mark_hz,
        )

    def _event(self, fsk: FskMessage) -> Event | None:
        try:
            message = parse_message(fsk.raw)
        except DecodeError as err:
            self.undecodable += 1
            log.debug("caller-ID message dropped: %s", err)
            return None
        if not message.is_caller_id:
            log.debug("caller-ID line message type 0x%02x ignored", message.msg_type)
            return None
        if not _plausible(message):
            self.undecodable += 1
            log.debug("caller-ID message dropped: not a phone number or date")
            return None
        event: Event = {"type": "caller_id"}
        event.update(message.event_fields())
        event["modulation"] = fsk.modulation
        event["start"] = round(fsk.start / self.sample_rate, TIME_DECIMALS)
        event["end"] = round(fsk.end / self.sample_rate, TIME_DECIMALS)
        log.info("caller ID %s (%s, %s)", mask(message.number or ""), event["format"], fsk.modulation)
        return event


# --- DTMF caller ID -----------------------------------------------------------------

DTMF_DIGIT_GAP_S = 1.5  # longer silence between digits ends (or discards) a string
DTMF_MAX_DIGITS = 64  # bound on a string in assembly
DTMF_MIN_NUMBER_DIGITS = 3  # a bare "<number>#" shorter than this is not caller ID
# A bare "<number>#" has no start digit, so keypad input ("1234#" in a menu) looks the
# same; an exchange sends its digits back to back (~70 ms pauses), a hand does not.
DTMF_BARE_MAX_PAUSE_S = 0.3
DTMF_CODES = {"00": "unavailable", "10": "private"}  # B<code>
DTMF_D_CODES = {"1": "private", "2": "unavailable", "3": "unavailable"}  # D<code># (2: abroad)
TERMINATORS = "C#"


def _start_of(text: str) -> int:
    """Index of the digit that starts a caller-ID string (stray digits before it skipped)."""
    for i, ch in enumerate(text):
        if ch in "AD":
            return i
    return max(text.find("B"), 0)


def _parse_dtmf_cid(text: str, terminated: bool) -> dict[str, str] | None:
    """Fields of a DTMF caller-ID string (from its start digit), or ``None``."""
    if text[:1] not in ("A", "B", "D"):
        body = text.rstrip(TERMINATORS)
        bare = terminated and text.endswith("#") and body.isdigit()
        return {"number": body} if bare and len(body) >= DTMF_MIN_NUMBER_DIGITS else None
    fields: list[tuple[str, str]] = []
    for ch in text:
        if ch in TERMINATORS:
            break
        if ch in "ABD":
            fields.append((ch, ""))
        elif ch.isdigit():
            key, value = fields[-1]
            fields[-1] = (key, value + ch)
        else:
            return None  # '*' in the middle: not a caller ID
    first_key, first_value = fields[0]
    if first_key == "D" and len(fields) == 1 and first_value in DTMF_D_CODES:
        return {"reason": DTMF_D_CODES[first_value]}  # D1# private, D2#/D3# unavailable
    out: dict[str, str] = {}
    for key, value in fields:
        if not value:
            continue
        if key == "A" or (key == "D" and first_key == "D" and "number" not in out):
            out.setdefault("number", value)  # D<number>C: Taiwan, Kuwait
        elif key == "D":
            out.setdefault("redirect", value)
        elif key == "B":
            out.setdefault("reason", DTMF_CODES.get(value, "unavailable"))
    if "number" in out:
        if len(out["number"]) < DTMF_MIN_NUMBER_DIGITS and not terminated:
            return None
        out.pop("reason", None)
        return out
    return out if "reason" in out else None


class DtmfCallerIdAssembler:
    """Assembles DTMF caller-ID strings from detected digits.

    A string ends at ``C`` or ``#``, or when no digit follows within
    :data:`DTMF_DIGIT_GAP_S` (noticed at the next digit or at :meth:`flush`).
    """

    def __init__(self) -> None:
        self._digits: list[tuple[str, float, float]] = []

    def on_digit(self, digit: str, start: float, end: float) -> list[Event]:
        """One detected digit (``0-9 * # A-D``) with its start and end in seconds."""
        events: list[Event] = []
        digit = digit.upper()
        if self._digits and start - self._digits[-1][2] > DTMF_DIGIT_GAP_S:
            events += self._finish(terminated=False)
        if len(self._digits) >= DTMF_MAX_DIGITS:
            self._digits.clear()  # runaway string: not caller ID
        self._digits.append((digit, start, end))
        if digit in TERMINATORS:
            events += self._finish(terminated=True)
        return events

    def flush(self) -> list[Event]:
        """End of stream (or of the caller-ID window): the pending string, if it is one."""
        return self._finish(terminated=False)

    def _finish(self, *, terminated: bool) -> list[Event]:
        digits, self._digits = self._digits, []
        if not digits:
            return []
        text = "".join(d for d, _, _ in digits)
        first = _start_of(text)
        fields = _parse_dtmf_cid(text[first:], terminated)
        if fields is not None and text[first] not in "ABD":
            pauses = [b[1] - a[2] for a, b in zip(digits[first:], digits[first + 1 :], strict=False)]
            if pauses and max(pauses) > DTMF_BARE_MAX_PAUSE_S:
                fields = None  # dialled by hand, not sent by an exchange
        if fields is None:
            log.debug("DTMF string of %d digits is not a caller ID", len(text))
            return []
        event: Event = {"type": "caller_id"}
        event.update(fields)
        event["format"] = "dtmf"
        event["modulation"] = "dtmf"
        event["start"] = round(digits[first][1], TIME_DECIMALS)
        event["end"] = round(digits[-1][2], TIME_DECIMALS)
        return [event]
