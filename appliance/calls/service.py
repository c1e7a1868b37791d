"""The call part of the daemon (``name = "calls"``): consumes the line's events, runs calls.

Wiring (appliance/daemon/app.py): ``CallsService(ctx, line_service)`` sets itself as
the :class:`~appliance.line.service.LineService` event handler (docs/DOMAIN.md
§Calls). Its handler only queues (bounded); this part's own loop does the work:

- ringing: one ``calls`` row per call from the first ring or caller ID; the caller
  pop (``caller_pop`` on the bus) as soon as the caller ID is decoded; the desk
  phone rings; after ``line.rings_before_answer`` rings the appliance answers and
  :class:`~appliance.calls.flow.CallFlow` runs the menu;
- outbound: queued ``call_jobs`` (``appliance calls dial``, the page, call-backs)
  are dialed when the line is idle, each number its own call row;
- every call ends with :func:`~appliance.calls.records.record_call` (row + ``call``
  event in one commit), ``call_ended`` and ``line_state: idle`` on the bus.

Bus topics: ``caller_pop``, ``line_state`` (``idle``, ``ringing``, ``in_call``,
``waiting_for_desk``, ``dialing``), ``call_ended``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers

from appliance.calls import jobs
from appliance.calls.flow import OUTBOUND_DIAL_TIMEOUT_S, Call, CallFlow, FlowSettings, domain
from appliance.calls.menu import load_menu
from appliance.calls.prompts import PromptLibrary
from appliance.calls.recordings import Recordings
from appliance.calls.records import close_dangling, open_call, record_call, update_call
from appliance.daemon.service import Service
from appliance.errors import ApplianceError, ValidationError
from appliance.line.base import EVENT_QUEUE_BOUND, DialResult, EventKind, LineDriver, LineEvent
from appliance.phone import mask, to_e164
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

JOB_POLL_S = 1.0  # call_jobs written by another process (the CLI) are found within this
LATENCY_SAMPLES = 1000
DIAL_RESULT_OUTCOME = {
    DialResult.ANSWERED: "answered",
    DialResult.BUSY: "busy",
    DialResult.NO_ANSWER: "no_answer",
    DialResult.NO_DIALTONE: "failed",
    DialResult.FAILED: "failed",
}


def dial_string(e164: str, country: str) -> str:
    """What to dial on an analogue line in ``country``: national form at home, else international."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"cannot dial {e164!r}: not an E.164 number") from None
    if phonenumbers.region_code_for_number(parsed) == country.upper():
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        text = phonenumbers.format_out_of_country_calling_number(parsed, country.upper())
    return "".join(c for c in text if c.isdigit() or c in "*#")


def contact_summary(contact: Any) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {
        "contact_id": getattr(contact, "contact_id", None),
        "name": getattr(contact, "name", None),
        "language": getattr(contact, "language", None),
        "phones": list(getattr(contact, "phones", []) or []),
        "local": bool(getattr(contact, "local", False)),
    }


class CallsService(Service):
    """See the module docstring."""

    name = "calls"

    def __init__(self, ctx: AppContext, line: Any, *, prompts_dir: Path | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.line = line  # the LineService (driver, set_handler)
        cfg = ctx.config
        self.menu = load_menu(cfg.line.menu)  # ConfigError naming the key: start-up stops (exit 2)
        data_dir = cfg.data_dir
        self.prompts = PromptLibrary(
            self.menu, prompts_dir or (Path(cfg.line.prompts_dir) if cfg.line.prompts_dir else data_dir / "prompts")
        )
        self.recordings = Recordings(
            Path(cfg.line.recordings_dir) if cfg.line.recordings_dir else data_dir / "recordings",
            retention_days=cfg.line.recording_retention_days,
            max_bytes=cfg.line.recordings_max_mb << 20,
            min_free_bytes=cfg.storage.min_free_mb << 20,
        )
        self.settings = FlowSettings.from_config(cfg.line, cfg.site.country)
        self.flow = CallFlow(store=ctx.store, bus=ctx.bus, menu=self.menu, prompts=self.prompts,
                             recordings=self.recordings, settings=self.settings)
        self._inbox: collections.deque[LineEvent] = collections.deque()
        self._inbox_ready = asyncio.Event()
        self.inbox_dropped = 0
        self.ringing: Call | None = None
        self.active: Call | None = None
        self._active_q: asyncio.Queue[LineEvent] | None = None
        self._call_task: asyncio.Task[None] | None = None
        self.pop_latency_ms: collections.deque[float] = collections.deque(maxlen=LATENCY_SAMPLES)
        self.counters = {"incoming": 0, "answered": 0, "missed": 0, "outbound": 0, "pops": 0}
        self._stopping = False
        self._build_stop = threading.Event()
        line.set_handler(self.on_line_event)

    # -- the line's events in (called by the LineService, on the loop) --------------

    def on_line_event(self, event: LineEvent) -> None:
        """Queue one line event; never blocks (bounded: the oldest key/tone/silence report goes first)."""
        if len(self._inbox) >= EVENT_QUEUE_BOUND:
            for i, old in enumerate(self._inbox):
                if old.kind in (EventKind.SILENCE, EventKind.TONE, EventKind.DTMF):
                    del self._inbox[i]
                    break
            else:
                self._inbox.popleft()
            self.inbox_dropped += 1
        self._inbox.append(event)
        self._inbox_ready.set()

    async def _next_event(self) -> LineEvent:
        while not self._inbox:
            self._inbox_ready.clear()
            await self._inbox_ready.wait()
        return self._inbox.popleft()

    @property
    def driver(self) -> LineDriver | None:
        return getattr(self.line, "driver", None)

    # -- the part ------------------------------------------------------------------------

    async def run(self) -> None:
        store = self.ctx.store
        closed = await store.run(close_dangling, store)
        failed = await store.run(jobs.fail_interrupted, store)
        if closed or failed:
            log.warning("calls: %d call(s) and %d dial job(s) left by a restart were closed as failed", closed, failed)
        self.set_health("starting", "building voice prompts")
        self.ctx.bus.publish("line_state", {"state": "idle", "call_id": None})
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._event_loop(), name="calls-events")  # a call during the build speaks on demand
            tg.create_task(self._job_loop(), name="calls-jobs")
            try:
                counts = await asyncio.to_thread(self.prompts.build_all, self._build_stop)
            finally:
                self._build_stop.set()  # cancelled: the thread stops at the next prompt (shutdown waits for it)
            self.set_health("ok", self._detail(counts), prompts=counts, menu=self.menu.source)

    def _detail(self, counts: dict[str, int]) -> str:
        how = "spoken by espeak-ng" if counts["speech"] else "recorded" if counts["recorded"] else "CHIMES ONLY"
        return f"menu {self.menu.source}, {len(self.menu.languages)} languages, prompts {how}"

    async def stop(self) -> None:
        self._stopping = True
        self._build_stop.set()
        driver = self.driver
        if self._call_task is not None and not self._call_task.done():
            if driver is not None:
                with contextlib.suppress(Exception):
                    await driver.on_hook()
            await asyncio.wait({self._call_task}, timeout=3.0)  # not cancelled here: it ends on the on-hook

    # -- incoming ---------------------------------------------------------------------------

    async def _event_loop(self) -> None:
        while True:
            event = await self._next_event()
            try:
                await self._on_event(event)
            except ApplianceError as err:
                log.error("calls: %s while handling %s", err, event.kind)

    async def _on_event(self, event: LineEvent) -> None:
        if self._active_q is not None:
            if self._active_q.full():
                self._active_q.get_nowait()
            self._active_q.put_nowait(event)
            return
        kind = event.kind
        if kind == EventKind.RING:
            call = await self._ringing_call()
            call.rings += 1
            n = self.settings.rings_before_answer
            if n and call.rings >= n and self.driver is not None:
                await self._answer(call)
        elif kind == EventKind.CALLER_ID:
            await self._caller_id(event)
        elif kind == EventKind.DESK_OFF_HOOK and self.ringing is not None:
            call = self.ringing
            call.desk_off_hook = True
            call.outcome = "answered"
            call.detail["answered_by"] = "desk"
            call.answered_at = utcnow()
            self.ringing = None
            await self._finish(call)
        elif kind == EventKind.RINGS_STOPPED and self.ringing is not None:
            call = self.ringing
            self.ringing = None
            call.outcome = "missed"
            self.counters["missed"] += 1
            await self._finish(call)
        elif kind == EventKind.DEVICE_LOST and self.ringing is not None:
            call = self.ringing
            self.ringing = None
            call.outcome = "missed"
            call.detail["ended_by"] = "device_lost"
            await self._finish(call)

    async def _ringing_call(self) -> Call:
        if self.ringing is None:
            started = utcnow()
            call_id = await self.ctx.store.run(open_call, self.ctx.store, "in", started_at=started)
            self.ringing = Call(call_id=call_id, direction="in", started_at=started)
            self.counters["incoming"] += 1
            self.ctx.bus.publish("line_state", {"state": "ringing", "call_id": call_id})
        return self.ringing

    async def _caller_id(self, event: LineEvent) -> None:
        call = await self._ringing_call()
        data = event.data
        raw = str(data.get("number") or "")
        number: str | None = None
        reason = data.get("reason") or data.get("number_absent_reason")
        if raw:
            try:
                number = to_e164(raw, self.settings.country)
            except ValidationError:
                number = None
                reason = reason or "unavailable"
                call.detail["number_on_line"] = raw[:32]
        if call.popped_at is not None and (number is None or number == call.number):
            return  # the same caller ID heard twice (modem and DSP)
        call.number = number
        call.number_absent_reason = None if number else (reason or "unavailable")
        name = data.get("name")
        call.caller_name = str(name)[:64] if name else None
        call.detail["caller_id"] = {k: data[k] for k in ("format", "modulation") if k in data}
        contacts = domain("appliance.contacts")
        contact = None
        if number and contacts is not None:
            contact = await self.ctx.store.run(contacts.find_by_number, self.ctx.store, number)
        call.contact = contact
        call.contact_id = getattr(contact, "contact_id", None)
        call.language = getattr(contact, "language", None)
        self.ctx.bus.publish("caller_pop", {
            "call_id": call.call_id, "number": call.number, "number_absent_reason": call.number_absent_reason,
            "name_on_line": call.caller_name, "contact": contact_summary(contact), "at": utcnow(),
        })
        call.popped_at = time.monotonic()
        self.counters["pops"] += 1
        self.pop_latency_ms.append((call.popped_at - event.at) * 1000)
        log.info("call %s: caller %s%s", call.call_id, mask(number) if number else call.number_absent_reason,
                 f" (contact {call.contact_id})" if call.contact_id else "")
        await self.ctx.store.run(
            update_call, self.ctx.store, call.call_id, number=call.number,
            number_absent_reason=call.number_absent_reason, caller_name=call.caller_name,
            contact_id=call.contact_id,
        )

    async def _answer(self, call: Call) -> None:
        driver = self.driver
        assert driver is not None
        self.ringing = None
        self.active = call
        q: asyncio.Queue[LineEvent] = asyncio.Queue(EVENT_QUEUE_BOUND)
        self._active_q = q
        self.counters["answered"] += 1

        async def run_call() -> None:
            try:
                await self.flow.answered_call(driver, q, call)
            except Exception:
                log.exception("call %s: the call flow failed; hanging up", call.call_id)
                call.outcome = call.outcome if call.outcome != "missed" else "failed"
                call.detail["error"] = "flow_failed"
                with contextlib.suppress(Exception):
                    await driver.on_hook()
            finally:
                self._active_q = None
                self.active = None
                await self._finish(call)

        self._call_task = asyncio.create_task(run_call(), name=f"call-{call.call_id}")

    async def _finish(self, call: Call) -> None:
        await self.ctx.store.run(record_call, self.ctx.store, call.record(), call.call_id)
        self.ctx.bus.publish("call_ended", {"call_id": call.call_id, "outcome": call.outcome})
        self.ctx.bus.publish("line_state", {"state": "idle", "call_id": None})
        log.info("call %s ended: %s%s", call.call_id, call.outcome,
                 f", keys {call.keys.keys}" if call.keys.keys else "")

    # -- outbound -------------------------------------------------------------------------

    async def _job_loop(self) -> None:
        while True:
            await self.ctx.wakeups.wait(jobs.WAKEUP_CALL_JOBS, JOB_POLL_S)
            if self._stopping:
                return
            while self._line_free():
                job = await self.ctx.store.run(jobs.claim_next, self.ctx.store)
                if job is None:
                    break
                await self.dial_job(job)

    def _line_free(self) -> bool:
        driver = self.driver
        return (driver is not None and self.ringing is None and self.active is None
                and str(driver.state) == "idle" and not self._stopping)

    async def dial_job(self, job: jobs.CallJob) -> str:
        """Try the job's numbers in order until one answers; returns the job's outcome."""
        store = self.ctx.store
        request = await store.run(jobs.request_for, store, job.notification_id) if job.notification_id else None
        outcome = "failed"
        for number in job.numbers:
            driver = self.driver
            if driver is None:
                break
            outcome = await self._attempt(driver, job, number, request)
            if outcome == "answered":
                break
        await store.run(jobs.finish_job, store, job, outcome)
        return outcome

    async def _attempt(self, driver: LineDriver, job: jobs.CallJob, number: str,
                       request: dict[str, Any] | None) -> str:
        store = self.ctx.store
        started = utcnow()
        call_id = await store.run(open_call, store, "out", number=number, contact_id=job.contact_id,
                                  notification_id=job.notification_id, started_at=started)
        await store.run(jobs.add_attempt, store, job.job_id, call_id)
        call = Call(call_id=call_id, direction="out", started_at=started, number=number,
                    contact_id=job.contact_id, notification_id=job.notification_id)
        self.active = call
        self.counters["outbound"] += 1
        q: asyncio.Queue[LineEvent] = asyncio.Queue(EVENT_QUEUE_BOUND)
        self._active_q = q
        self.ctx.bus.publish("line_state", {"state": "dialing", "call_id": call_id, "number": number})
        try:
            try:
                digits = dial_string(number, self.settings.country)
                result = await driver.dial(digits, timeout=OUTBOUND_DIAL_TIMEOUT_S)
            except (ValidationError, ValueError) as err:
                call.detail["error"] = str(err)
                result = DialResult.FAILED
            call.outcome = DIAL_RESULT_OUTCOME[result]
            call.detail["dial_result"] = str(result)
            if result == DialResult.ANSWERED:
                call.answered_at = utcnow()
                self.ctx.bus.publish("line_state", {"state": "in_call", "call_id": call_id})
                await self.flow.answered_outbound(driver, q, call, (request or {}).get("text"),
                                                  (request or {}).get("language"),
                                                  survey_id=(request or {}).get("survey_id"))
        except Exception:
            log.exception("call %s: dialing failed", call_id)
            call.outcome = "failed"
            with contextlib.suppress(Exception):
                await driver.on_hook()
        finally:
            self._active_q = None
            self.active = None
            await self._finish(call)
        return call.outcome

    # -- figures ---------------------------------------------------------------------------------

    def pop_latency(self) -> dict[str, float]:
        xs = sorted(self.pop_latency_ms)
        if not xs:
            return {}
        return {"p50_ms": xs[len(xs) // 2], "p99_ms": xs[min(len(xs) - 1, int(len(xs) * 0.99))], "n": len(xs)}
