"""The call flow: what happens on the line from the first ring to the call record.

Incoming: ring -> caller ID -> contact by E.164 -> ``caller_pop`` on the bus ->
the desk phone rings; after ``line.rings_before_answer`` rings the appliance
answers -> (recording notice) -> the menu -> voicemail / keypad survey / waiting
for the desk -> on-hook -> :func:`~appliance.calls.records.record_call`.
Outbound: dial each number in order, each attempt its own call row.

Everything here drives the line through :class:`~appliance.line.base.LineDriver`
only. Timeouts are counted in *line time* where the driver keeps it
(``line_time``: a simulated line may run faster than real time), else in
monotonic seconds. The domain parts of the workflows (contacts, complaints,
surveys) are used through their documented functions (docs/DOMAIN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from appliance.aio import cancel_and_wait
from appliance.calls.menu import Action, MenuConfig, MenuSession
from appliance.calls.prompts import PromptLibrary, beep, hold_audio, silence
from appliance.calls.records import CallRecord, KeyLog
from appliance.dsp import wav
from appliance.errors import ApplianceError, StoreError
from appliance.line.base import EventKind, LineDriver, LineEvent, PlayEnd
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.bus import Bus
    from appliance.calls.recordings import Recordings
    from appliance.config import LineConfig
    from appliance.store.db import Store

log = logging.getLogger(__name__)

SETTLE_S = 0.4  # after a barge-in, real seconds for the other source's report of the same key
POLL_S = 0.005  # how often a wait checks the line clock (a fast simulated line runs ahead of real time)
ANON_CHOICE_S = 4.0  # seconds to press 1 for an anonymous message
MIN_VOICEMAIL_S = 1.0  # shorter than this (after the beep) is no message
SURVEY_KEY_TIMEOUT_S = 10.0
OUTBOUND_DIAL_TIMEOUT_S = 45.0
MAX_CALL_S = 3600.0  # no answered call holds the line longer, whatever the driver misses
FAR_END_GONE_TONES = ("busy", "congestion")  # heard while off-hook in a call: the caller has hung up


def domain(name: str) -> ModuleType | None:
    """A workflows domain package (``appliance.contacts`` ...) when this build has it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class CallGone(Exception):
    """The far end hung up or the device went away: the call ends."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class DeskTookOver(Exception):
    """The desk phone went off-hook on the shared line: the appliance steps back."""


class LineClock:
    """Line time when the driver keeps it (a simulated line may run faster than real time), and
    monotonic time too: a wait ends at whichever deadline comes first, so a device that stops
    streaming audio (a half-duplex modem while it plays) cannot stall a timeout."""

    def __init__(self, driver: LineDriver) -> None:
        self.driver = driver

    def line_now(self) -> float | None:
        t = getattr(self.driver, "line_time", None)
        return float(t) if isinstance(t, (int, float)) else None

    def deadline(self, seconds: float) -> tuple[float | None, float]:
        line = self.line_now()
        return (None if line is None else line + seconds), time.monotonic() + seconds

    def expired(self, deadline: tuple[float | None, float]) -> bool:
        line_deadline, mono_deadline = deadline
        line = self.line_now()
        if line_deadline is not None and line is not None and line >= line_deadline:
            return True
        return time.monotonic() >= mono_deadline


@dataclass
class Call:
    """What the flow knows of the call in hand."""

    call_id: int
    direction: str
    started_at: str
    number: str | None = None
    number_absent_reason: str | None = None
    caller_name: str | None = None
    contact: Any = None
    contact_id: str | None = None
    notification_id: str | None = None
    answered_at: str | None = None
    language: str | None = None
    rings: int = 0
    outcome: str = "missed"
    recording: str | None = None
    keys: KeyLog = field(default_factory=KeyLog)
    detail: dict[str, Any] = field(default_factory=dict)
    desk_off_hook: bool = False
    popped_at: float | None = None  # monotonic time of the caller pop

    def record(self) -> CallRecord:
        return CallRecord(
            direction=self.direction, started_at=self.started_at, outcome=self.outcome, number=self.number,
            number_absent_reason=self.number_absent_reason, caller_name=self.caller_name,
            contact_id=self.contact_id, answered_at=self.answered_at, keys=self.keys.keys,
            recording=self.recording, notification_id=self.notification_id, language=self.language,
            detail=self.detail,
        )


class CallIO:
    """One answered call's audio and keys: play with barge-in, wait for keys, all in line time."""

    def __init__(self, driver: LineDriver, events: asyncio.Queue[LineEvent], call: Call,
                 prompts: PromptLibrary, lang: str) -> None:
        self.driver = driver
        self.events = events
        self.call = call
        self.prompts = prompts
        self.lang = lang
        self.clock = LineClock(driver)
        self.pending: list[str] = []  # keys that arrived while the flow was not waiting
        # a hang-up queued behind keys: raised once those keys are taken (pressed, then hung up at once)
        self.gone: CallGone | None = None
        # both the device and our DSP may report one press; the driver stops a prompt on either
        self.settle_s = SETTLE_S if driver.capabilities.device_dtmf else 0.0

    def _handle(self, event: LineEvent, *, desk_ends: bool = True) -> str | None:
        """A line event during the call: a new key, or raise when the call ends."""
        kind = event.kind
        if kind == EventKind.DTMF:
            digit = str(event.data.get("digit", ""))
            at = event.data.get("line_time", event.at)
            if self.call.keys.add(digit, float(at), event.source):
                return digit
        elif kind == EventKind.HANGUP:
            raise CallGone(str(event.data.get("reason", "hangup")))
        elif kind == EventKind.DEVICE_LOST:
            raise CallGone("device_lost")
        elif kind == EventKind.TONE and event.data.get("tone") in FAR_END_GONE_TONES:
            raise CallGone(f"{event.data['tone']}_tone")  # the driver says HANGUP too; either alone ends the call
        elif kind == EventKind.DESK_OFF_HOOK:
            self.call.desk_off_hook = True
            if desk_ends:
                raise DeskTookOver()
        return None

    def drain(self, *, desk_ends: bool = True) -> None:
        """Take every event already queued (keys go to ``pending``); raise once the call is gone and no key is left."""
        while True:
            if self.gone is not None:
                break
            try:
                event = self.events.get_nowait()
            except asyncio.QueueEmpty:
                break
            try:
                key = self._handle(event, desk_ends=desk_ends)
            except CallGone as gone:
                self.gone = gone
                break
            if key is not None:
                self.pending.append(key)
        if self.gone is not None and not self.pending:
            raise self.gone

    async def next_key(self, timeout: float, *, desk_ends: bool = True) -> str | None:
        """The next key within ``timeout`` s of line time, else None."""
        self.drain(desk_ends=desk_ends)
        if self.pending:
            return self.pending.pop(0)
        deadline = self.clock.deadline(timeout)
        while True:
            try:
                async with asyncio.timeout(POLL_S):
                    event = await self.events.get()
            except TimeoutError:
                if self.clock.expired(deadline):
                    return None
                continue
            key = self._handle(event, desk_ends=desk_ends)
            if key is not None:
                return key
            if self.clock.expired(deadline):
                return None

    async def play(self, pcm: bytes, *, barge_in: bool = True, desk_ends: bool = True) -> bool:
        """Play; True when a key interrupted it (the key is then in ``pending``)."""
        self.drain(desk_ends=desk_ends)
        if barge_in and self.pending:
            return True
        if self.gone is not None:
            raise self.gone
        end = await self.driver.play(pcm, barge_in=barge_in)
        if end == PlayEnd.HANGUP:
            self.drain(desk_ends=desk_ends)
            raise CallGone("hangup")
        if end == PlayEnd.DEVICE_LOST:
            raise CallGone("device_lost")
        self.drain(desk_ends=desk_ends)
        if end == PlayEnd.INTERRUPTED and barge_in:
            if self.settle_s:  # let the twin report of the key arrive (real time: the modem's is late)
                settle_end = time.monotonic() + self.settle_s
                while time.monotonic() < settle_end:
                    await asyncio.sleep(POLL_S)
                self.drain(desk_ends=desk_ends)
            return bool(self.pending)  # empty: stopped by a duplicate report only, nothing new to act on
        return bool(self.pending) and barge_in

    async def say(self, *names: str, barge_in: bool = True, **fmt: Any) -> bool:
        """Play prompts in order; stop at the first key (True)."""
        for name in names:
            pcm = self.prompts.pcm(name, self.lang, **fmt) if fmt else self.prompts.pcm(name, self.lang)
            if await self.play(pcm, barge_in=barge_in):
                return True
        return False


@dataclass
class FlowSettings:
    rings_before_answer: int = 4
    language: str = "en"
    record_calls: bool = False
    desk_wait_max: float = 90.0
    voicemail_max_seconds: int = 180
    voicemail_max_silence: float = 10.0
    hold_audio_dir: str = ""
    country: str = "FI"

    @classmethod
    def from_config(cls, line: LineConfig, country: str) -> FlowSettings:
        return cls(
            rings_before_answer=line.rings_before_answer, language=line.language, record_calls=line.record_calls,
            desk_wait_max=line.desk_wait_max, voicemail_max_seconds=line.voicemail_max_seconds,
            voicemail_max_silence=line.voicemail_max_silence, hold_audio_dir=line.hold_audio_dir, country=country,
        )


class CallFlow:
    """Runs one answered call (incoming menu or outbound) on a driver; the service owns the ringing."""

    def __init__(self, *, store: Store, bus: Bus, menu: MenuConfig, prompts: PromptLibrary,
                 recordings: Recordings, settings: FlowSettings) -> None:
        self.store = store
        self.bus = bus
        self.menu = menu
        self.prompts = prompts
        self.recordings = recordings
        self.settings = settings

    # -- incoming ------------------------------------------------------------------

    async def answered_call(self, driver: LineDriver, events: asyncio.Queue[LineEvent], call: Call) -> None:
        """The appliance answered: run the menu until the caller leaves; sets ``call.outcome``."""
        contact_lang = getattr(call.contact, "language", None)
        lang = self.menu.language_for(contact_lang, self.settings.language)
        call.language = lang
        io = CallIO(driver, events, call, self.prompts, lang)
        call.outcome = "menu"
        recorder: asyncio.Task[tuple[bytes, str]] | None = None
        try:
            await driver.off_hook()
            call.answered_at = utcnow()
            self.bus.publish("line_state", {"state": "in_call", "call_id": call.call_id})
            if self._may_record(call):
                await io.say("recording_notice", barge_in=False)
                recorder = asyncio.create_task(
                    driver.record(float(self.settings.voicemail_max_seconds) * 10, end_keys="", max_silence=3600.0),
                    name=f"call-{call.call_id}-recording",
                )
            async with asyncio.timeout(MAX_CALL_S):
                await self._menu(io, call, recorder)
        except TimeoutError:
            call.detail["ended_by"] = "max_call_length"
            log.warning("call %s: still going after %.0f s; hanging up", call.call_id, MAX_CALL_S)
        except CallGone as gone:
            call.detail["ended_by"] = gone.why
        except DeskTookOver:
            call.outcome = "transferred"
            call.detail["ended_by"] = "desk_pickup"
        finally:
            if recorder is not None:
                await self._finish_recording(call, recorder, driver)
            with contextlib.suppress(Exception):
                await driver.on_hook()
        call.detail["menu_path"] = call.detail.get("menu_path", [])[-50:]

    def _may_record(self, call: Call) -> bool:
        if not self.settings.record_calls:
            return False
        consents = getattr(call.contact, "consents", None)
        if call.contact is not None and not (consents or {}).get("recording", False):
            call.detail["recording_skipped"] = "no_consent"
            return False
        return True

    async def _finish_recording(self, call: Call, task: asyncio.Task[tuple[bytes, str]], driver: LineDriver) -> None:
        if not task.done():
            await driver.on_hook()  # ends the recording ("hangup")
        await asyncio.wait({task}, timeout=5.0)
        if not task.done():
            await cancel_and_wait(task)
            return
        if task.cancelled() or isinstance(task.exception(), RuntimeError):
            return
        pcm, _why = task.result()
        if call.recording is None and pcm:
            try:
                call.recording = await self.store.run(self.recordings.save, pcm, f"call-{call.call_id}")
            except StoreError as err:
                log.error("call %s: recording not saved: %s", call.call_id, err)
                call.detail["recording_skipped"] = "no_room"

    async def _menu(self, io: CallIO, call: Call, recorder: asyncio.Task[tuple[bytes, str]] | None) -> None:
        session = MenuSession(self.menu)
        step = session.start()
        try:
            while True:
                call.detail["menu_path"] = session.path
                if step.prompts and await io.say(*step.prompts):
                    key = await io.next_key(0)
                    assert key is not None
                    step = session.on_key(key)
                    continue
                if step.action is not None:
                    if await self._action(io, call, step.action, recorder):
                        return
                    recorder = None if recorder is not None and recorder.done() else recorder
                    step = session.resume()
                    continue
                timeout = self.menu.inter_digit_timeout if step.partial else self.menu.timeout
                key = await io.next_key(timeout)
                step = session.on_timeout() if key is None else session.on_key(key)
        finally:
            call.detail["menu_path"] = session.path

    async def _action(self, io: CallIO, call: Call, action: Action,
                      recorder: asyncio.Task[tuple[bytes, str]] | None) -> bool:
        """Run a menu action; True when the call is over."""
        kind = action.kind
        if kind == "hangup":
            if action.prompt:
                await io.say(action.prompt, barge_in=False)
            return True
        if kind == "play":  # then = hangup
            assert action.prompt is not None
            await io.say(action.prompt, barge_in=False)
            await io.say("goodbye", barge_in=False)
            return True
        if kind == "voicemail":
            if recorder is not None and not recorder.done():
                await cancel_and_wait(recorder)  # one recording at a time: the message is the call's recording
            await self.voicemail(io, call)
            return True
        if kind == "survey":
            await self.keypad_survey(io, call)
            return False
        if kind == "desk":
            return await self.wait_for_desk(io, call)
        return False

    # -- voicemail (key 2) ---------------------------------------------------------------

    async def voicemail(self, io: CallIO, call: Call) -> None:
        """Record a bounded message and file it as a complaint (``channel: "voice"``)."""
        anonymous = False
        if await io.say("vm_anon"):
            anonymous = (await io.next_key(0)) == "1"
        else:
            key = await io.next_key(ANON_CHOICE_S)
            anonymous = key == "1"
        call.detail["voicemail_anonymous"] = anonymous
        await io.say("vm_intro", barge_in=False)
        await io.play(beep(), barge_in=False)
        io.drain()
        pcm, why = await io.driver.record(
            float(self.settings.voicemail_max_seconds), end_keys="#", max_silence=self.settings.voicemail_max_silence
        )
        call.detail["voicemail_end"] = why
        if why == "key":
            io.drain()  # the '#' is a key of the call
            pcm = _trim_end(pcm, 0.3)  # the '#' tone itself
        if why == "silence":
            pcm = _trim_end(pcm, self.settings.voicemail_max_silence - 0.5)
        if len(pcm) < MIN_VOICEMAIL_S * 16000:
            call.detail["voicemail"] = "too_short"
            if why not in ("hangup", "device_lost"):
                await io.say("vm_failed", barge_in=False)
            call.outcome = "menu"
            return
        try:
            path = await self.store.run(self.recordings.save, pcm, f"vm-{call.call_id}", keep=True)
        except StoreError as err:  # the disk is full: say so rather than pretend
            log.error("call %s: voice message not saved: %s", call.call_id, err)
            call.detail["voicemail"] = "not_saved"
            if why not in ("hangup", "device_lost"):
                await io.say("vm_failed", barge_in=False)
            return
        call.recording = path
        call.outcome = "voicemail"
        try:
            complaint = await self.store.run(self._file_complaint, call, path, anonymous)
        except ApplianceError as err:  # the message is kept on disk and in the call record
            log.error("call %s: voice message %s not filed as a complaint: %s", call.call_id, path, err)
            call.detail["complaint"] = "not_filed"
            complaint = None
        if complaint is not None:
            call.detail["complaint_id"] = getattr(complaint, "complaint_id", None)
        if why not in ("hangup", "device_lost"):
            with contextlib.suppress(CallGone):
                await io.say("vm_saved", "goodbye", barge_in=False)

    def _file_complaint(self, call: Call, path: str, anonymous: bool) -> Any:
        complaints = domain("appliance.complaints")
        if complaints is None:
            log.warning("call %s: voice message kept at %s but not filed: no complaints part in this build",
                        call.call_id, path)
            return None
        return complaints.open_complaint(
            self.store, channel="voice", recording=path,
            contact_id=None if anonymous else call.contact_id,
            number=None if anonymous else call.number,
            anonymous=anonymous, language=call.language,
        )

    # -- keypad survey (key 3) ----------------------------------------------------------------

    async def keypad_survey(self, io: CallIO, call: Call, *, survey_id: str | None = None) -> None:
        """The active call survey (menu key 3), or ``survey_id`` (a call request from the central,
        its session tied to the request's ``notification_id``), answered on the keypad."""
        surveys = domain("appliance.surveys")
        if surveys is None:
            survey = None
        elif survey_id:
            survey = await self.store.run(surveys.get_survey, self.store, survey_id)
        else:
            survey = await self.store.run(surveys.active_survey, self.store, "call")
        if survey is None or surveys is None:
            if survey_id:
                log.warning("call %s: survey %s of call request %s is not here", call.call_id, survey_id,
                            call.notification_id)
                call.detail["survey"] = "unknown"
            await io.say("no_survey")
            return
        if not survey_id:
            call.outcome = "survey"
        session = await self.store.run(
            lambda: surveys.start_session(self.store, survey.survey_id, "call", contact_id=call.contact_id,
                                          number=call.number, language=io.lang,
                                          notification_id=call.notification_id if survey_id else None)
        )
        call.detail["survey_session"] = session.session_id
        complete = False
        try:
            if self.prompts.tts.available:  # speak every question once now (cached), not between two keys
                texts = [q.text_for(io.lang) for q in survey.questions if q.kind in ("scale", "yes_no")]
                texts = [t for t in texts if t and not self.prompts.is_cached(t, io.lang)]
                if texts:
                    await asyncio.to_thread(lambda: [self.prompts.say(t, io.lang) for t in texts])
            await io.say("survey_intro")
            question = session.current_question()
            n = 1
            while question is not None:
                if question.kind not in ("scale", "yes_no"):  # free text cannot be keyed: left unanswered
                    result = await self.store.run(surveys.answer, self.store, session.session_id, "")
                    if result.reask:
                        result = await self.store.run(surveys.answer, self.store, session.session_id, "")
                    complete = bool(result.finished)
                    question = result.next_question
                    n += 1
                    continue
                key = await self._ask(io, question, n)
                if key is None:  # no answer twice: the caller stopped answering
                    break
                result = await self.store.run(surveys.answer, self.store, session.session_id, key)
                if result.reask:
                    continue
                if result.finished:
                    complete = True
                    break
                question = result.next_question
                n += 1
        finally:
            await self.store.run(surveys.finish, self.store, session.session_id, complete)
        if complete:
            await io.say("survey_thanks")

    async def _ask(self, io: CallIO, question: Any, n: int) -> str | None:
        text = question.text_for(io.lang) if hasattr(question, "text_for") else ""
        for _ in range(2):
            if text and self.prompts.is_cached(text, io.lang):
                pcm = self.prompts.say(text, io.lang)
            elif text and self.prompts.tts.available:
                pcm = await asyncio.to_thread(self.prompts.say, text, io.lang)
            else:
                pcm = self.prompts.pcm("question", io.lang, n=n)
            interrupted = await io.play(pcm)
            if not interrupted:
                if question.kind == "yes_no":
                    interrupted = await io.say("yes_no_hint")
                elif question.kind == "scale":
                    interrupted = await io.say("scale_hint", min=question.scale_min, max=question.scale_max)
            key = await io.next_key(0 if interrupted else SURVEY_KEY_TIMEOUT_S)
            if key is not None:
                return key
        return None

    # -- waiting for the desk (key 0) ------------------------------------------------------------

    async def wait_for_desk(self, io: CallIO, call: Call, *, offer_voicemail: bool = True) -> bool:
        """Say so, play hold audio, pop the caller; True when the call is over (desk took it / bound)."""
        call.detail["waited_for_desk"] = True
        self.bus.publish("line_state", {"state": "waiting_for_desk", "call_id": call.call_id,
                                        "number": call.number, "contact_id": call.contact_id})
        clips = hold_audio(self.settings.hold_audio_dir, self.prompts, io.lang)
        deadline = io.clock.deadline(self.settings.desk_wait_max)
        try:
            await io.say("desk_wait", barge_in=False)
            i = 0
            while not io.clock.expired(deadline):
                await io.play(clips[i % len(clips)] + silence(0.5), barge_in=False)
                i += 1
        except DeskTookOver:
            call.outcome = "transferred"
            call.detail["ended_by"] = "desk_pickup"
            self.bus.publish("line_state", {"state": "idle", "call_id": call.call_id})
            return True
        self.bus.publish("line_state", {"state": "in_call", "call_id": call.call_id})
        call.detail["desk_wait"] = "timed_out"
        if not offer_voicemail:
            return True
        await io.say("desk_vm", barge_in=False)
        await self.voicemail(io, call)
        return True

    # -- outbound -----------------------------------------------------------------------------------

    async def answered_outbound(self, driver: LineDriver, events: asyncio.Queue[LineEvent], call: Call,
                                text: str | None, language: str | None, *, survey_id: str | None = None) -> None:
        """Someone answered our call: a central request's keypad survey (its text said first as the
        introduction) or its text, else hold until the desk picks up."""
        lang = self.menu.language_for(language, self.settings.language)
        call.language = lang
        io = CallIO(driver, events, call, self.prompts, lang)
        try:
            if survey_id:
                if text:
                    await io.play(await asyncio.to_thread(self.prompts.say, text, lang) + silence(0.5))
                await self.keypad_survey(io, call, survey_id=survey_id)
                await io.say("goodbye", barge_in=False)
            elif text:
                pcm = await asyncio.to_thread(self.prompts.say, text, lang)
                for _ in range(2):
                    await io.play(pcm + silence(1.0), barge_in=False)
                await io.say("goodbye", barge_in=False)
            else:
                await self.wait_for_desk(io, call, offer_voicemail=False)
        except CallGone as gone:
            call.detail["ended_by"] = gone.why
        except DeskTookOver:
            call.detail["ended_by"] = "desk_pickup"
        finally:
            call.outcome = "answered"  # the callee answered (INTERFACES §2); the desk taking over is in detail
            with contextlib.suppress(Exception):
                await driver.on_hook()


def _trim_end(pcm: bytes, seconds: float) -> bytes:
    n = int(max(0.0, seconds) * 8000) * 2
    return pcm[:-n] if n and len(pcm) > n else pcm


def write_wav(path: Path, pcm: bytes) -> None:
    wav.write_wav(path, pcm, 8000)
