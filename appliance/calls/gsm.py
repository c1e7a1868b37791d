"""Voice calls to the GSM modem's SIM: a missed call with caller pop, and an optional SMS reply.

The SIM's number is for SMS; nobody answers it by voice. A ``RING``/``+CLIP``
from the modem (``ModemEvent`` kinds ``ring`` and ``caller_id``) opens a call row
(``detail.line = "gsm"``) and pops the caller on the page like a call on the
phone line; when the rings stop (no ``RING`` for ``RINGS_GONE_S``) it is recorded
as ``missed``. With ``line.gsm_call_sms_reply`` set, the caller gets that text by
SMS (at most once per number per ``REPLY_EVERY_S``, never to an opted-out number).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from appliance.aio import cancel_and_wait
from appliance.calls.flow import Call, domain
from appliance.calls.records import open_call, record_call, update_call
from appliance.errors import ApplianceError, ValidationError
from appliance.phone import mask, to_e164
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

RINGS_GONE_S = 8.0  # GSM RING repeats every 3-5 s; none for this long: the caller gave up
REPLY_EVERY_S = 86400.0
MAX_REPLY_MEMORY = 1000  # numbers remembered for the once-a-day rule


class GsmCalls:
    """Fed by the modem part's call listener (any thread); runs on the daemon's loop."""

    def __init__(self, ctx: AppContext, reply_text: str = "") -> None:
        self.ctx = ctx
        self.reply_text = reply_text.strip()
        self.call: Call | None = None
        self._last_ring = 0.0
        self._replied: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.replies = 0
        with contextlib.suppress(RuntimeError):  # built by the wiring inside the daemon's loop
            self._loop = asyncio.get_running_loop()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def on_modem_event(self, event: Any) -> None:
        """The modem part's listener: ``event.kind`` ``ring`` or ``caller_id`` (``event.number``)."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(self.handle(event.kind, getattr(event, "number", None)))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(
                    lambda: loop.create_task(self.handle(event.kind, getattr(event, "number", None))))

    async def handle(self, kind: str, number: str | None) -> None:
        store = self.ctx.store
        async with self._lock:
            self._last_ring = time.monotonic()
            if self.call is None:
                started = utcnow()
                call_id = await store.run(open_call, store, "in", started_at=started)
                self.call = Call(call_id=call_id, direction="in", started_at=started, detail={"line": "gsm"})
                self.ctx.bus.publish("line_state", {"state": "ringing", "call_id": call_id, "line": "gsm"})
                self._watch = asyncio.create_task(self._until_rings_stop(), name="gsm-call")
            call = self.call
            if kind == "ring":
                call.rings += 1
            if kind != "caller_id" or call.popped_at is not None:
                return
            e164 = None
            if number:
                with contextlib.suppress(ValidationError):
                    e164 = to_e164(number, self.ctx.config.site.country)
            call.number = e164
            call.number_absent_reason = None if e164 else "unavailable"
            contacts = domain("appliance.contacts")
            contact = await store.run(contacts.find_by_number, store, e164) if (e164 and contacts) else None
            call.contact, call.contact_id = contact, getattr(contact, "contact_id", None)
            from appliance.calls.service import contact_summary

            self.ctx.bus.publish("caller_pop", {
                "call_id": call.call_id, "number": e164, "number_absent_reason": call.number_absent_reason,
                "name_on_line": None, "contact": contact_summary(contact), "at": utcnow(), "line": "gsm",
            })
            call.popped_at = time.monotonic()
            await store.run(update_call, store, call.call_id, number=e164,
                            number_absent_reason=call.number_absent_reason, contact_id=call.contact_id)

    async def _until_rings_stop(self) -> None:
        while time.monotonic() - self._last_ring < RINGS_GONE_S:
            await asyncio.sleep(max(0.05, RINGS_GONE_S - (time.monotonic() - self._last_ring)))
        async with self._lock:
            call, self.call = self.call, None
        if call is None:
            return
        call.outcome = "missed"
        store = self.ctx.store
        try:
            if call.number and self.reply_text:
                call.detail["sms_reply"] = await store.run(self._reply, call)
            await store.run(record_call, store, call.record(), call.call_id)
        except ApplianceError as err:
            log.error("GSM call %s: %s", call.call_id, err)
        self.ctx.bus.publish("call_ended", {"call_id": call.call_id, "outcome": "missed", "line": "gsm"})
        self.ctx.bus.publish("line_state", {"state": "idle", "call_id": None, "line": "gsm"})
        log.info("GSM call %s from %s missed", call.call_id,
                 mask(call.number) if call.number else call.number_absent_reason)

    def _reply(self, call: Call) -> str:
        """Queue the SMS reply (store thread); returns what happened."""
        assert call.number
        now = time.monotonic()
        last = self._replied.get(call.number)
        if last is not None and now - last < REPLY_EVERY_S:
            return "already_replied_today"
        consent = domain("appliance.consent")
        if consent is not None:
            reason = consent.send_block_reason(self.ctx.store, call.number, "manual")
            if reason:
                return f"blocked:{reason}"
        from appliance.sms.outbox import SmsOutbox

        SmsOutbox(self.ctx.store).enqueue(call.number, self.reply_text, contact_id=call.contact_id, purpose="manual")
        if len(self._replied) >= MAX_REPLY_MEMORY:
            self._replied.pop(next(iter(self._replied)))
        self._replied[call.number] = now
        self.replies += 1
        return "queued"

    async def close(self) -> None:
        if self._watch is not None:
            await cancel_and_wait(self._watch)
