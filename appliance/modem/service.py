"""The modem part of the daemon: keeps the GSM modem alive, sends the outbox, drains the inbox.

``modem.driver = "serial"`` opens ``modem.port``; ``"sim"`` starts the
simulated modem (``simulator.py``) on a pseudo-terminal in this process and
opens its slave through pyserial like a real port, with its control socket at
``<data dir>/modem-sim.sock``. Health (signal, operator, SIM, registration,
queue) is reported through ``set_health`` for ``appliance status``.

Recovery of a modem that stops answering follows Gammu and smstools3 (see the
constants): Ctrl-Z and ``AT`` probes, then re-initialisation, then
``AT+CFUN=1,1``, then closing and reopening the port with back-off; when the
port disappears (USB unplugged) it waits for it to come back and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

from appliance.aio import cancel_and_wait
from appliance.daemon.service import Service
from appliance.errors import DecodeError, DeviceError, DeviceGone, StoreError
from appliance.modem.codes import CMS_MEMORY_FULL, CMS_MODEM_STATE, cms_is_temporary
from appliance.modem.errors import AtCommandError, CmsError
from appliance.modem.modem import GsmModem, ModemEvent, SimLocked, StoredPdu
from appliance.modem.protocol import CommandTimeout
from appliance.modem.signal_history import SignalBuckets, save_bucket
from appliance.phone import mask
from appliance.sms.outbox import SENDING_PAUSED_META, WAKEUP_SMS_OUTBOX
from appliance.sms.pdu import SmsDeliver, SmsStatusReport, decode_pdu, encode_submit
from appliance.sms.receiver import InboxReceiver
from appliance.sms.sender import DueMessage, OutboxSender
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext
    from appliance.modem.simulator import SimulatedModem

log = logging.getLogger(__name__)

OUTBOX_POLL_S = 5.0  # messages queued by another process (the CLI) are found within this
HEALTH_POLL_S = 30.0  # signal, registration, operator, storage
INBOX_POLL_S = 15.0  # AT+CMGL=4: +CMTI is lost on many modems (and never sent when the store is full)
HOUSEKEEPING_S = 60.0  # expiry, multipart timeout, pruning
QUEUE_HEALTH_S = 5.0  # queue figures in the health refreshed at most this often while sending
MAX_PENDING_EVENTS = 256  # URCs waiting to be handled; on overflow the inbox is polled instead
MAX_UNMATCHED_REPORTS = 64  # reports that arrived before their +CMGS was recorded
UNMATCHED_REPORT_TTL_S = 60.0
# Recovery ladder. Gammu re-initialises after 2 consecutive errors and sends AT+CFUN=1,1 after
# 3 failed initialisations; smstools3 probes AT up to 10 times, clears a stuck prompt with
# Ctrl-Z and reopens the port after 5 failures.
PROBE_ATTEMPTS = 10
PROBE_INTERVAL_S = 1.0
REINIT_STEPS = 2  # failures 1..2: Ctrl-Z, probe, re-initialise
RESET_STEP = 3  # failure 3: AT+CFUN=1,1
# From failure 4: reopen the port, waiting 2, 4, 8 ... s, at most 5 min (a modem that needs a
# power cycle must not be hammered, but a replug should be noticed within minutes).
REOPEN_BACKOFF_S = 2.0
REOPEN_BACKOFF_MAX_S = 300.0
PORT_WAIT_S = 1.0  # how often a vanished device path is looked for
HEALTHY_SESSION_S = 120.0  # a session that lasted this long resets the recovery ladder
SIM_LOCKED_RETRY_S = 60.0  # a locked SIM is checked again this often (the PIN is never retried)
STOP_GRACE_S = 4.0  # stop() lets a send in progress finish for this long
CONSECUTIVE_SEND_FAILURES_TO_RECOVER = 3  # smstools3 blocks a modem after 3 failed sends
SIM_LINK_NAME = "modem-sim.tty"
SIM_CONTROL_NAME = "modem-sim.sock"


class ModemUnhealthy(DeviceError):
    """The modem needs the recovery ladder (repeated failures, SIM state lost)."""


@dataclass
class _Report:
    reference: int
    recipient: str
    outcome: str
    status: int
    at: float


class ModemService(Service):
    """The GSM modem as a supervised part (see the module docstring)."""

    name = "modem"

    def __init__(self, ctx: AppContext, *, port: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.cfg = ctx.config.modem
        self.port = port or self.cfg.port
        self.sender = OutboxSender(ctx.store)
        self.receiver = InboxReceiver(ctx.store, ctx.config.site.country)
        self.sim: SimulatedModem | None = None
        self.modem: GsmModem | None = None
        self._events: deque[ModemEvent] = deque()
        self._events_overflowed = False
        self._unmatched: deque[_Report] = deque(maxlen=MAX_UNMATCHED_REPORTS)
        self._kick: asyncio.Event | None = None
        self._claim_now = True
        self._stopping = False
        self._idle = asyncio.Event()
        self._store_full = False
        self._in_doubt = 0
        self._health_info: dict[str, Any] = {}
        self.paused = False
        self._reset_requested = False
        self.recoveries = 0
        self.signal_buckets = SignalBuckets()
        self.call_listener: Callable[[ModemEvent], None] | None = None  # set by the wiring (voice calls to the SIM)
        registry = ctx.registry
        self.m_sent = Counter("appliance_sms_sent", "SMS parts accepted by the modem", registry=registry)
        self.m_received = Counter("appliance_sms_received", "SMS parts received", registry=registry)
        self.m_failed = Counter("appliance_sms_send_failures", "SMS send attempts refused", registry=registry)
        self.m_recoveries = Counter("appliance_modem_recoveries", "modem recovery steps taken", registry=registry)
        self.m_signal = Gauge("appliance_modem_signal", "modem RSSI (+CSQ 0-31, -1 unknown)", registry=registry)

    # -- life cycle ------------------------------------------------------------------

    async def _network_time(self, modem: GsmModem) -> None:
        """The GSM network's time (``AT+CCLK?``) for the clock check of a box without RTC (issue 11)."""
        from appliance.ops.clock import note_network_time

        with contextlib.suppress(DeviceError):
            resp = await modem.at("AT+CCLK?", timeout=2.0)
            note_network_time(" ".join(resp.lines))

    async def run(self) -> None:
        self._kick = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        if self.cfg.driver == "sim" and self.sim is None:
            self.port = self._start_simulator()
        unknown = await self.ctx.store.run(self.sender.recover_in_doubt)
        if unknown:
            log.warning("SMS %s: in doubt after a restart (status unknown); check and resend by hand", unknown)
        watcher = asyncio.create_task(self._watch_outbox(), name="modem-outbox-watch")
        try:
            await self._supervise()
        finally:
            await cancel_and_wait(watcher)
            self._close_modem()

    async def stop(self) -> None:
        self._stopping = True
        if self._kick:
            self._kick.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE_S):
                await self._idle.wait()
        self._close_modem()
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
        in_hand = self.signal_buckets.take()
        if in_hand is not None:
            with contextlib.suppress(StoreError):
                await self.ctx.store.run(save_bucket, self.ctx.store, in_hand)

    async def _note_signal(self, signal: int | None) -> None:
        """One reading into the signal history (a row every 5 minutes, not every 30 s)."""
        done = self.signal_buckets.add(time.time(), signal)
        if done is not None:
            try:
                await self.ctx.store.run(save_bucket, self.ctx.store, done)
            except StoreError as err:
                log.warning("signal history: bucket %s not saved: %s", done.start_iso, err)

    def _start_simulator(self) -> str:
        from appliance.modem.simulator import SimulatedModem

        data_dir = self.ctx.config.db_path.parent
        data_dir.mkdir(parents=True, exist_ok=True)
        delay = None if self.cfg.sim_cmgs_delay < 0 else self.cfg.sim_cmgs_delay
        self.sim = SimulatedModem(
            self.cfg.sim_profile,
            pin=self.cfg.pin,
            link=data_dir / SIM_LINK_NAME,
            control=data_dir / SIM_CONTROL_NAME,
            cmgs_delay_s=delay,
            auto_report=self.cfg.sim_auto_report,
            random_sms_per_hour=self.cfg.sim_random_sms_per_hour,
        ).start()
        log.info(
            "simulated %s modem on %s (control socket %s)",
            self.cfg.sim_profile,
            self.sim.port,
            data_dir / SIM_CONTROL_NAME,
        )
        return self.sim.port

    def _close_modem(self) -> None:
        if self.modem is not None:
            self.modem.close()
            self.modem = None

    async def _watch_outbox(self) -> None:
        while True:
            await self.ctx.wakeups.wait(WAKEUP_SMS_OUTBOX, OUTBOX_POLL_S)
            self._claim_now = True
            if self._kick:
                self._kick.set()

    def _on_event(self, event: ModemEvent) -> None:
        if event.kind == "other":
            log.debug("modem: %s", event.line[:120])
            return
        if event.kind in ("ring", "caller_id"):
            log.info("modem: incoming call%s", f" from {mask(event.number)}" if event.number else "")
            if self.call_listener is not None:  # the call part: a missed call with caller pop
                self.call_listener(event)
            return
        if len(self._events) >= MAX_PENDING_EVENTS:
            self._events.popleft()
            self._events_overflowed = True  # what was dropped is found by the next inbox poll
        self._events.append(event)
        if self._kick:
            self._kick.set()

    # -- supervision and recovery ---------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        gone = 0
        session_start = 0.0
        while not self._stopping:
            try:
                if failures:
                    await self._recover(failures)
                if self.modem is None:
                    await self._open()
                assert self.modem is not None
                self.set_health("starting", f"initialising the modem on {self.port}", **self._health_info)
                info = await self.modem.initialise()
                self._health_info.update(model=info.model, profile=info.profile.name, manufacturer=info.manufacturer)
                await self._network_time(self.modem)
                gone = 0
                session_start = time.monotonic()
                await self._session(self.modem)
            except SimLocked as err:
                self._health_info["sim"] = str(err)
                self.set_health("failed", f"SIM: {err}", **self._health_info)
                await asyncio.sleep(SIM_LOCKED_RETRY_S)
            except DeviceGone as err:
                self._close_modem()
                if self._stopping:
                    return  # stop() closed the port
                failures = 0
                gone += 1
                self.set_health("failed", f"modem port gone ({err}); waiting for it", **self._health_info)
                log.warning("modem port gone: %s", err)
                # a vanished device path is watched cheaply in _open; a port that exists but will
                # not open (or a socket:// peer that refuses) is retried with back-off
                await asyncio.sleep(min(REOPEN_BACKOFF_MAX_S, PORT_WAIT_S * 2 ** min(gone - 1, 10)))
            except DeviceError as err:
                # A session that ran well for a while starts the ladder afresh; one that fails
                # again soon after a re-initialisation climbs it (re-init -> reset -> reopen).
                healthy = session_start and time.monotonic() - session_start > HEALTHY_SESSION_S
                failures = 1 if healthy else failures + 1
                session_start = 0.0
                self.m_recoveries.inc()
                self.recoveries += 1
                self.set_health(
                    "degraded", f"modem not answering properly ({err}); recovery step {failures}", **self._health_info
                )
                log.warning("modem trouble (%s); recovery step %d", err, failures)

    async def _open(self) -> None:
        if self.port.startswith("/") and not os.path.exists(self.port):
            self.set_health("failed", f"modem port {self.port} not present; waiting for it", **self._health_info)
            while not os.path.exists(self.port) and not self._stopping:
                await asyncio.sleep(PORT_WAIT_S)
        modem = GsmModem(self.port, self.cfg.baudrate, pin=self.cfg.pin, on_event=self._on_event)
        await modem.open()
        self.modem = modem

    async def _recover(self, failures: int) -> None:
        modem = self.modem
        if modem is None:
            return
        if failures <= REINIT_STEPS:
            modem.clear_prompt()
            for _ in range(PROBE_ATTEMPTS):
                if await modem.probe():
                    return
                modem.clear_prompt()
                await asyncio.sleep(PROBE_INTERVAL_S)
            return
        if failures == RESET_STEP:
            modem.clear_prompt()
            log.warning("modem: resetting with AT+CFUN=1,1")
            await modem.reset()
            return
        self._close_modem()
        delay = min(REOPEN_BACKOFF_MAX_S, REOPEN_BACKOFF_S * 2 ** (failures - RESET_STEP - 1))
        log.warning("modem: reopening the port in %.0f s", delay)
        await asyncio.sleep(delay)

    # -- the session: one modem, initialised ----------------------------------------------------

    async def _session(self, modem: GsmModem) -> None:
        assert self._kick is not None
        now = time.monotonic
        next_health = next_inbox = next_house = next_send = 0.0
        next_claim = 0.0
        next_queue_health = 0.0  # counting a deep queue costs: at most every QUEUE_HEALTH_S
        queue_changed = False
        batch: deque[DueMessage] = deque()
        send_failures = 0
        # "pause all sending" from the status page survives a restart (a flag in the store)
        self.paused = await self.ctx.store.run(self.ctx.store.get_meta, SENDING_PAUSED_META) == "1"
        while not self._stopping:
            if modem.lost.is_set():
                raise DeviceGone("modem port lost")
            if self._reset_requested:
                self._reset_requested = False
                raise ModemUnhealthy("reset asked for on the status page")
            await self._tolerant(self._handle_events(modem), "handling modem events")
            if self._events_overflowed:
                self._events_overflowed = False
                next_inbox = 0.0
            if now() >= next_health:
                await self._tolerant(self._update_health(modem), "reading the modem's state")
                next_health = now() + HEALTH_POLL_S
            if now() >= next_inbox:
                await self._tolerant(self._poll_inbox(modem), "polling stored messages")
                next_inbox = now() + INBOX_POLL_S
            if now() >= next_house:
                await self._housekeeping()
                next_house = now() + HOUSEKEEPING_S
            if self._claim_now:
                self._claim_now = False
                next_claim = 0.0
            if not batch and now() >= next_claim and not self.paused:
                batch.extend(await self.ctx.store.run(self.sender.claim_due))
                if not batch:
                    next_claim = now() + OUTBOX_POLL_S
            if batch and now() >= next_send and not self.paused:
                message = batch.popleft()
                self._idle.clear()
                try:
                    ok = await self._send(modem, message)
                finally:
                    self._idle.set()
                send_failures = 0 if ok else send_failures + 1
                if send_failures >= CONSECUTIVE_SEND_FAILURES_TO_RECOVER:
                    raise ModemUnhealthy(f"{send_failures} sends failed in a row")
                next_send = now() + self.cfg.send_interval + modem.info.profile.send_settle_s
                queue_changed = True
                if now() >= next_queue_health:
                    await self._refresh_queue()
                    queue_changed, next_queue_health = False, now() + QUEUE_HEALTH_S
                continue
            if queue_changed and not batch and now() >= next_queue_health:
                await self._refresh_queue()  # the last figures after a burst of sends
                queue_changed, next_queue_health = False, now() + QUEUE_HEALTH_S
            if self._events:
                continue
            wake_at = min(next_health, next_inbox, next_house, next_send if batch else next_claim)
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake_at - now())):
                    await self._kick.wait()

    async def _tolerant(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``work``; a refused command (ERROR) is logged, only timeouts and a lost port escalate."""
        try:
            await work
        except AtCommandError as err:
            log.warning("%s: the modem refused %s", what, err)

    # -- sending -------------------------------------------------------------------------------

    async def _send(self, modem: GsmModem, msg: DueMessage) -> bool:
        """Send one message; False when the modem refused it (counts towards recovery)."""
        store = self.ctx.store
        if msg.expires_at and msg.expires_at <= utcnow():
            await store.run(self.sender.expire, msg.id)
            return True
        concat_ref = msg.concat_ref if msg.concat_ref is not None else msg.id % 256
        try:
            parts = encode_submit(
                msg.number,
                msg.text,
                status_report=self.cfg.delivery_reports,
                validity=timedelta(days=2),
                concat_ref=concat_ref,
            )
        except ValueError as err:
            await store.run(self.sender.fail, msg.id, f"cannot be encoded: {err}")
            return True
        if not await store.run(self.sender.mark_sending, msg.id, len(parts), concat_ref):
            return True
        for part in parts:
            if part.part in msg.sent_parts:
                continue
            try:
                reference = await modem.send_pdu(part.pdu, part.tpdu_length, tag=(msg.id, part.part))
            except CmsError as err:
                self.m_failed.inc()
                temporary = cms_is_temporary(err.code)
                status = await store.run(
                    self.sender.send_failed,
                    msg.id,
                    str(err),
                    temporary=temporary,
                    attempts=msg.attempts + 1,
                    max_attempts=self.cfg.max_attempts,
                )
                log.warning("SMS %d part %d to %s refused: %s -> %s", msg.id, part.part, mask(msg.number), err, status)
                if err.code == CMS_MEMORY_FULL:
                    self._store_full = True
                if err.code in CMS_MODEM_STATE:
                    raise ModemUnhealthy(f"modem refused a send: {err}") from err
                return not temporary
            except CommandTimeout as err:
                if err.data_sent:
                    await store.run(self.sender.in_doubt, msg.id, f"no answer to AT+CMGS after the PDU: {err}")
                    self._in_doubt += 1
                else:
                    await store.run(self.sender.not_sent, msg.id, f"no prompt from the modem: {err}")
                raise
            except AtCommandError as err:  # a plain ERROR: some firmwares say nothing more
                self.m_failed.inc()
                await store.run(
                    self.sender.send_failed,
                    msg.id,
                    str(err),
                    temporary=True,
                    attempts=msg.attempts + 1,
                    max_attempts=self.cfg.max_attempts,
                )
                return False
            except DeviceGone as err:
                if getattr(err, "data_sent", True):
                    await store.run(self.sender.in_doubt, msg.id, f"modem port lost during the send: {err}")
                else:
                    await store.run(self.sender.not_sent, msg.id, f"modem port lost before the send: {err}")
                raise
            self.m_sent.inc()
            await store.run(self.sender.part_sent, msg.id, part.part, reference)
        await store.run(self.sender.message_sent, msg.id)
        self.ctx.bus.publish("sms_status", {"message_id": msg.id, "status": "sent"})
        log.info("SMS %d sent to %s (%d part(s))", msg.id, mask(msg.number), len(parts))
        return True

    # -- receiving -----------------------------------------------------------------------------

    async def _handle_events(self, modem: GsmModem) -> None:
        while self._events:
            event = self._events.popleft()
            if event.kind in ("new_message", "report_stored") and event.index is not None:
                stored = await modem.read_message(event.index, event.storage)
                if stored is not None:
                    await self._handle_stored(modem, stored)
            elif event.kind in ("message", "report") and event.pdu:
                committed = await self._process_pdu(event.pdu, event.length)
                if committed:
                    await modem.acknowledge_direct()
            elif event.kind == "late_send":
                await self._late_send(event)
            elif event.kind == "storage_full":
                self._store_full = True
                await self._poll_inbox(modem)

    async def _late_send(self, event: ModemEvent) -> None:
        """A +CMGS / +CMS ERROR that came after its send timed out (the message is ``unknown``)."""
        if not isinstance(event.tag, tuple):
            log.debug("modem: late %r with no send in doubt; ignored", event.line[:60])  # the AT layer warned
            return
        if event.reference is None and event.error is None:
            log.warning("modem: unreadable late answer %r; SMS %s stays unknown", event.line[:60], event.tag[0])
            return
        message_id, part = event.tag
        error = str(event.error) if event.error is not None else None
        status = await self.ctx.store.run(
            self.sender.late_answer, message_id, part, reference=event.reference, error=error
        )
        if status is None:
            return
        if event.reference is not None:
            self.m_sent.inc()
            log.warning("SMS %d part %d: the modem answered late (ref %d): unknown -> %s",
                        message_id, part, event.reference, status)
            await self._retry_unmatched()  # its report may have come before the answer
        else:
            self.m_failed.inc()
            log.warning("SMS %d part %d: the modem refused it late (%s): unknown -> failed", message_id, part, error)
        if status == "queued":
            self._claim_now = True
        self.ctx.bus.publish("sms_status", {"message_id": message_id, "status": status})
        await self._refresh_queue()

    async def _handle_stored(self, modem: GsmModem, stored: StoredPdu) -> None:
        if await self._process_pdu(stored.pdu, stored.length):
            storage = stored.storage if stored.storage != modem.info.storage else None
            await modem.delete_message(stored.index, storage)  # only after the durable commit

    async def _process_pdu(self, pdu: str, length: int | None = None) -> bool:
        """Decode and commit one PDU; True when it may be deleted from the modem."""
        store = self.ctx.store
        # 27.005 PDUs start with the SMSC part; some modems leave it out of +CDS. The header's
        # TPDU length tells which: equal to the whole PDU means no SMSC part.
        smsc_first = not (length is not None and len(pdu) // 2 == length)
        try:
            try:
                msg = decode_pdu(pdu, with_smsc=smsc_first)
            except DecodeError:
                msg = decode_pdu(pdu, with_smsc=not smsc_first)
        except DecodeError as err:
            log.warning("undecodable PDU from the modem (%s); kept as an incomplete message", err)
            try:
                await store.run(self.receiver.store_undecodable, pdu, str(err))
            except StoreError as store_err:
                log.error("could not store an undecodable PDU: %s", store_err)
                return False
            return True
        try:
            if isinstance(msg, SmsDeliver):
                await store.run(self.receiver.store_part, msg)
                self.m_received.inc()
                return True
            if isinstance(msg, SmsStatusReport):
                match = await store.run(
                    self.sender.apply_report, msg.message_ref, msg.recipient, msg.outcome, msg.status
                )
                if match is None:
                    self._unmatched.append(
                        _Report(msg.message_ref, msg.recipient, msg.outcome, msg.status, time.monotonic())
                    )
                return True
        except StoreError as err:
            log.error("could not commit a received PDU (kept on the modem): %s", err)
            return False
        return False  # an SMS-SUBMIT stored on the SIM: not ours, left alone

    async def _poll_inbox(self, modem: GsmModem) -> None:
        # The SIM too when another storage is used: messages that arrived before the modem was
        # switched over (or that a firmware puts there anyway) would otherwise stay forever.
        storages = [None] if modem.info.storage == "SM" else [None, "SM"]
        for storage in storages:
            try:
                for stored in await modem.list_messages(4, storage):
                    await self._handle_stored(modem, stored)
            except AtCommandError as err:
                log.info("listing stored messages in %s failed: %s", storage or modem.info.storage, err)
        used, total = await modem.storage_usage()
        self._store_full = bool(total) and used >= total
        if self._store_full:
            log.warning("SIM message store full (%d/%d) after draining", used, total)
        await self._retry_unmatched()

    async def _retry_unmatched(self) -> None:
        keep: list[_Report] = []
        while self._unmatched:
            report = self._unmatched.popleft()
            match = await self.ctx.store.run(
                self.sender.apply_report, report.reference, report.recipient, report.outcome, report.status
            )
            if match is None and time.monotonic() - report.at < UNMATCHED_REPORT_TTL_S:
                keep.append(report)
        self._unmatched.extend(keep)

    async def _housekeeping(self) -> None:
        store = self.ctx.store
        await store.run(self.sender.expire_due)
        await store.run(self.receiver.flush_stale)
        await store.run(self.receiver.prune)
        await self._retry_unmatched()

    async def _refresh_queue(self) -> None:
        counts = await self.ctx.store.run(self.sender.counts)
        if counts != self._health_info.get("queue"):
            self._health_info.update(queue=counts, in_doubt=counts.get("unknown", 0))
            self.set_health(self.health.state, self.health.detail, **self._health_info)

    async def _update_health(self, modem: GsmModem) -> None:
        signal = await modem.signal()
        registration = await modem.registration()
        operator = await modem.operator()
        used, total = await modem.storage_usage()
        counts = await self.ctx.store.run(self.sender.counts)
        waiting = await self.ctx.store.run(self.receiver.waiting_parts)
        self._store_full = bool(total) and used >= total
        self.m_signal.set(-1 if signal is None else signal)
        await self._note_signal(signal)
        info = modem.info
        self._health_info.update(
            signal=signal,
            operator=operator,
            sim="READY",
            registration=registration,
            queue=counts,
            storage=f"{info.storage} {used}/{total}",
            in_doubt=counts.get("unknown", 0),
            waiting_parts=waiting,
            port=self.port,
        )
        detail = f"{info.profile.name} {info.model}: {registration}"
        detail += f", signal {signal}/31" if signal is not None else ", no signal"
        if operator:
            detail += f", {operator}"
        problems: list[str] = []
        if self._store_full:
            problems.append(f"SIM store full ({used}/{total})")
        if counts.get("unknown"):
            problems.append(f"{counts['unknown']} message(s) in doubt (status unknown): check and resend by hand")
        if self.paused:
            problems.append("sending paused")
        state = "ok" if registration in ("home", "roaming") and not problems else "degraded"
        self.set_health(state, "; ".join([detail, *problems]), **self._health_info)

    # -- for the status page -------------------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        """Pause or resume all sending now (the flag in the store keeps it over a restart)."""
        self.paused = paused
        self._claim_now = True
        if self._kick:
            self._kick.set()

    def request_reset(self) -> None:
        """Run the recovery steps (re-open, re-initialise) as for a hung modem."""
        self._reset_requested = True
        if self._kick:
            self._kick.set()

    def simulator_control(self) -> Path | None:
        """The control socket of the in-process simulated modem, if there is one."""
        return self.sim.control_path if self.sim is not None else None
