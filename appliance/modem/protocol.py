"""The AT protocol: one command in flight, responses told from URCs by context.

A line is a response when a command is pending and the line belongs to it: its
echo (dropped), one of its response prefixes (``+CSQ:`` while ``AT+CSQ`` is
pending), the PDU line that follows a ``+CMGL:``/``+CMGR:`` header, or plain
information text. Unsolicited result codes (``+CMTI``, ``RING``, ``+CDS``...)
are recognised among the other lines at any moment, also between a command and
its final result, and handed to ``on_urc`` with the PDU line that follows
``+CMT:``/``+CDS:``. With no command pending every line is unsolicited.

Pure of I/O: ``data_received(bytes)`` in, ``write(bytes)`` out (a callable the
transport provides).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.errors import DeviceGone, DeviceTimeout
from appliance.modem.codes import CME_ERRORS, CMS_ERRORS, code_from_text
from appliance.modem.errors import AtCommandError, CmeError, CmsError, CommandResult
from appliance.modem.framing import CTRL_Z, ESC, AtFramer, Line, Prompt

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
# Per command kind. +CMGS waits for the network: up to 60 s on SIM800, 120 s on EC25 (field
# reports), so 130 s. +COPS=? scans bands for minutes. Reading a full store takes a while on SIMs.
COMMAND_TIMEOUTS_S: dict[str, float] = {
    "+CMGS": 130.0,
    "+CMSS": 130.0,
    "+COPS=?": 180.0,
    "+COPS=": 120.0,
    "+CMGL": 60.0,
    "+CMGR": 20.0,
    "+CMGD": 20.0,
    "+CPMS": 20.0,
    "+CFUN": 40.0,
    "+CPIN=": 20.0,
    "+CNMA": 10.0,
    "Z": 10.0,
}
PROMPT_TIMEOUT_S = 10.0  # from AT+CMGS=<n> to "> "
MAX_URC_QUEUE = 256  # URC lines kept for the consumer before the oldest are dropped
# A send whose PDU went out but whose +CMGS/+CMS ERROR did not come in time is "in doubt":
# modems answer late (the network held it), as a lone line later. Sends are serial, so only
# the last one can still be answered: a second timed-out send replaces the first, and the
# next send's prompt ends the doubt (the modem has moved on). Bounded in number and age.
MAX_SENDS_IN_DOUBT = 1
LATE_ANSWER_WINDOW_S = 600.0  # a late answer after this long is not matched to anything
SEND_COMMANDS = frozenset({"+CMGS", "+CMSS"})
# 27.005 commands: a +CMS ERROR while one of them is pending is its answer, not a late one.
SMS_COMMANDS = frozenset(
    {"+CMGS", "+CMSS", "+CMGW", "+CMGR", "+CMGL", "+CMGD", "+CMGC", "+CPMS", "+CSMS", "+CNMA", "+CNMI",
     "+CMGF", "+CSCA", "+CSMP", "+CSDH", "+CSCB", "+CSAS", "+CRES", "+CMMS", "+CGSMS"}
)

FINAL_OK = frozenset({"OK"})
FINAL_FAIL = frozenset({"ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT"})
_CME = re.compile(r"^\+CME ERROR:\s*(.*)$", re.IGNORECASE)
_CMS = re.compile(r"^\+CMS ERROR:\s*(.*)$", re.IGNORECASE)

# Lines that are unsolicited unless the pending command asked for them (then its prefix wins).
URC_PREFIXES: tuple[str, ...] = (
    "+CMTI:",
    "+CDSI:",
    "+CMT:",
    "+CDS:",
    "+CBM:",
    "+CBMI:",
    "RING",
    "+CRING:",
    "+CLIP:",
    "+CREG:",
    "+CEREG:",
    "+CGREG:",
    "+CPIN:",
    "+CFUN:",
    "+CUSD:",
    "+CIEV:",
    "+CTZV:",
    "+CTZE:",
    "+QIND:",
    "+QUSIM:",
    "^RSSI:",
    "^HCSQ:",
    "^BOOT:",
    "^MODE:",
    "^SRVST:",
    "^SIMST:",
    "^SYSSTART",
    "^CEND:",
    "^ORIG:",
    "^CONF:",
    "^CONN:",
    "^DSFLOWRPT:",
    "^STIN:",
    "RDY",
    "CALL READY",
    "SMS READY",
    "PB DONE",
    "*PSUTTZ:",
    "DST:",
    "+PACSP",
    "+CPINR:",
    "^SMMEMFULL",
)  # a +CMGS: that is no send's own answer is a late answer: see AtProtocol._late_answer
# URC headers whose next line is a PDU.
URC_WITH_PDU = ("+CMT:", "+CDS:", "+CBM:")
RESPONSE_WITH_PDU = ("+CMGL:", "+CMGR:")


class CommandTimeout(DeviceTimeout):
    """The modem gave no final result in time. ``data_sent``: the PDU had gone out."""

    def __init__(self, command: str, timeout: float, data_sent: bool) -> None:
        self.command = command
        self.data_sent = data_sent
        super().__init__(f"{command}: no answer from the modem within {timeout:g} s")


@dataclass
class Response:
    command: str
    lines: list[str] = field(default_factory=list)

    def values(self, prefix: str) -> list[str]:
        """The text after ``prefix`` (e.g. ``+CSQ:``) on each line that starts with it."""
        n = len(prefix)
        return [ln[n:].strip() for ln in self.lines if ln.upper().startswith(prefix.upper())]

    def value(self, prefix: str) -> str | None:
        found = self.values(prefix)
        return found[0] if found else None


@dataclass(frozen=True)
class Urc:
    line: str
    pdu: str | None = None  # the line after +CMT:/+CDS:
    # A late +CMGS:/+CMS ERROR: the ``tag`` the timed-out send was given (None: nothing in doubt)
    late: bool = False
    tag: object = None


@dataclass(frozen=True)
class SendInDoubt:
    """A send whose PDU went out unanswered: its late answer is matched to ``tag``."""

    command: str
    tag: object
    since: float  # loop time of the timeout


def command_kind(command: str) -> str:
    """``AT+CMGS=23`` -> ``+CMGS``; ``AT+COPS=?`` -> ``+COPS=?``; ``ATZ`` -> ``Z``."""
    body = command[2:] if command[:2].upper() == "AT" else command
    body = body.upper()
    if body.endswith("=?"):
        return body
    m = re.match(r"^([+^$#*%&][A-Z0-9]+|[A-Z])(=?)", body)
    if not m:
        return body
    kind = m.group(1)
    return kind + "=" if kind + "=" in COMMAND_TIMEOUTS_S and m.group(2) else kind


def timeout_for(command: str) -> float:
    return COMMAND_TIMEOUTS_S.get(command_kind(command), DEFAULT_TIMEOUT_S)


def response_prefixes(command: str) -> tuple[str, ...]:
    """The prefixes a command's own response lines carry (``AT+CSQ`` -> ``+CSQ:``)."""
    kind = command_kind(command).rstrip("=?")
    if kind[:1] in "+^$#*%&":
        return (kind + ":",)
    return ()


class _Pending:
    def __init__(self, command: str, prefixes: tuple[str, ...], data: bytes | None) -> None:
        self.command = command
        self.echo = command.strip().upper()
        self.prefixes = tuple(p.upper() for p in prefixes)
        self.data = data
        self.data_sent = False
        self.data_echo = data.decode("ascii", "replace").upper() if data else None
        self.response = Response(command)
        self.kind = command_kind(command)
        self.future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.prompted = asyncio.Event()  # set at the prompt, or at a final result before it


class AtProtocol:
    """Send AT commands one at a time and route every line the modem sends.

    ``write`` sends bytes (never blocks); ``on_urc`` receives unsolicited lines.
    """

    def __init__(self, write: Callable[[bytes], None], on_urc: Callable[[Urc], None]) -> None:
        self._write = write
        self._on_urc = on_urc
        self.framer = AtFramer()
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._pdu_follows: str | None = None  # "response" or the URC header line awaiting its PDU
        self._closed: BaseException | None = None
        self._in_doubt: deque[SendInDoubt] = deque(maxlen=MAX_SENDS_IN_DOUBT)
        self._late_ok = False  # the OK after a late +CMGS: line is the late answer's, swallowed
        self.lines_received = 0
        self.last_rx: float = 0.0

    # -- input -------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.last_rx = asyncio.get_running_loop().time()
        for frame in self.framer.feed(data):
            if isinstance(frame, Prompt):
                self._prompt()
            elif isinstance(frame, Line):
                self.lines_received += 1
                try:
                    self._line(frame.text)
                except Exception:  # a bad line must never stop the reader
                    log.exception("modem line %r could not be handled; skipped", frame.text[:80])

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = exc or DeviceGone("modem port closed")
        pending = self._pending
        if pending and not pending.future.done():
            err = DeviceGone(f"{pending.command}: modem port lost ({exc})")
            err.data_sent = pending.data_sent  # type: ignore[attr-defined]
            pending.future.set_exception(err)

    def _prompt(self) -> None:
        pending = self._pending
        if pending is None or pending.data is None or pending.data_sent:
            log.debug("unexpected '> ' prompt from the modem; ignored")
            return
        pending.data_sent = True
        if pending.kind in SEND_COMMANDS:
            self.forget_sends_in_doubt("the modem took the next send")
        pending.prompted.set()
        self._write(pending.data + CTRL_Z)

    def _line(self, line: str) -> None:
        pending = self._pending
        upper = line.upper()
        follows, self._pdu_follows = self._pdu_follows, None
        if follows is not None:
            if _looks_like_pdu(line):
                if follows == "response" and pending is not None:
                    pending.response.lines.append(line)
                elif follows != "response":
                    self._emit(Urc(follows, line))
                return
            if follows != "response":
                self._emit(Urc(follows))  # a +CMT/+CDS whose PDU never came: reported without it
        late_ok, self._late_ok = self._late_ok, False
        if late_ok and upper in FINAL_OK:
            log.debug("the OK of a late +CMGS answer; dropped")
            return
        if self._late_answer(pending, line, upper):
            return
        if pending is not None:
            if upper == pending.echo or (pending.data_echo and upper.lstrip("> ") == pending.data_echo):
                return
            if upper.startswith(">") and pending.data_sent:
                return  # the prompt line echoed with the PDU after it
            final = self._final(pending, line, upper)
            if final:
                return
            if any(upper.startswith(p) for p in pending.prefixes):
                pending.response.lines.append(line)
                if upper.startswith(RESPONSE_WITH_PDU):
                    self._pdu_follows = "response"
                return
        if upper.startswith(URC_WITH_PDU):
            self._pdu_follows = line
            return
        if upper.startswith(URC_PREFIXES) or pending is None:
            self._emit(Urc(line))
            return
        pending.response.lines.append(line)

    def _late_answer(self, pending: _Pending | None, line: str, upper: str) -> bool:
        """A ``+CMGS:`` or ``+CMS ERROR`` that cannot belong to the pending command: a late answer.

        Handed to ``on_urc`` as ``Urc(late=True, tag=...)`` with the tag of the send in doubt,
        or ``tag=None`` when nothing is in doubt (then the consumer only logs it).
        """
        own_send = pending is not None and pending.kind in SEND_COMMANDS and pending.data_sent
        if upper.startswith("+CMGS:"):
            if own_send:
                return False
            self._late_ok = True  # "+CMGS: <mr>" is followed by its own OK
        elif _CMS.match(line):
            if pending is not None and pending.kind in SMS_COMMANDS:
                return False  # an SMS command's own error (also AT+CMGS=<n> refused before its prompt)
            if not self._in_doubt:
                return False  # a stray error line: the pending command's, or reported as unsolicited
        else:
            return False
        doubt = self._take_in_doubt()
        if doubt is None:
            log.warning("modem: %r with no send in doubt; ignored", line[:60])
        else:
            log.info("modem: late answer %r to %s (in doubt since its timeout)", line[:60], doubt.command)
        self._emit(Urc(line, late=True, tag=doubt.tag if doubt else None))
        return True

    def _take_in_doubt(self) -> SendInDoubt | None:
        now = asyncio.get_running_loop().time()
        while self._in_doubt:
            doubt = self._in_doubt.pop()
            if now - doubt.since <= LATE_ANSWER_WINDOW_S:
                self._in_doubt.clear()
                return doubt
            log.info("send in doubt (%s) older than %g s: a late answer is no longer matched to it",
                     doubt.command, LATE_ANSWER_WINDOW_S)
        return None

    def forget_sends_in_doubt(self, why: str) -> None:
        """No late answer can come any more (the next send was prompted, the modem rebooted)."""
        if self._in_doubt:
            log.info("send in doubt (%s) forgotten: %s; it stays unknown", self._in_doubt[-1].command, why)
            self._in_doubt.clear()

    @property
    def sends_in_doubt(self) -> list[SendInDoubt]:
        return list(self._in_doubt)

    def _final(self, pending: _Pending, line: str, upper: str) -> bool:
        exc: Exception | None = None
        if upper in FINAL_OK:
            pending.prompted.set()
            if not pending.future.done():
                pending.future.set_result(pending.response)
            return True
        if upper in FINAL_FAIL:
            exc = AtCommandError(pending.command) if upper == "ERROR" else CommandResult(pending.command, upper)
        elif m := _CME.match(line):
            exc = CmeError(pending.command, error_code(m.group(1), CME_ERRORS))
        elif m := _CMS.match(line):
            exc = CmsError(pending.command, error_code(m.group(1), CMS_ERRORS))
        if exc is None:
            return False
        pending.prompted.set()
        if not pending.future.done():
            pending.future.set_exception(exc)
        return True

    def _emit(self, urc: Urc) -> None:
        try:
            self._on_urc(urc)
        except Exception:
            log.exception("handling the modem's %r failed", urc.line[:40])

    # -- output ------------------------------------------------------------

    async def command(
        self,
        command: str,
        *,
        timeout: float | None = None,
        prefixes: tuple[str, ...] | None = None,
        data: str | None = None,
        tag: object = None,
    ) -> Response:
        """Send ``command``, wait for its final result; ``data`` is written at the ``> `` prompt.

        When a send (``AT+CMGS``) times out after its PDU went out, ``tag`` is remembered as the
        send in doubt: a late answer is handed to ``on_urc`` as ``Urc(late=True, tag=tag)``.
        Raises CmeError/CmsError/AtCommandError on an error result, CommandTimeout, DeviceGone.
        """
        async with self._lock:
            if self._closed is not None:
                raise DeviceGone(f"{command}: modem port is closed")
            pending = _Pending(
                command,
                response_prefixes(command) if prefixes is None else prefixes,
                data.encode("ascii") if data is not None else None,
            )
            total = timeout_for(command) if timeout is None else timeout
            self._pending = pending
            self.framer.expect_prompt = data is not None
            log.debug("-> %s", command)
            try:
                self._write(command.encode("ascii", "replace") + b"\r")
                if data is not None:
                    try:
                        async with asyncio.timeout(min(PROMPT_TIMEOUT_S, total)):
                            await pending.prompted.wait()
                    except TimeoutError:
                        if not pending.data_sent:
                            self._write(ESC)  # abort the input: nothing was sent
                            raise CommandTimeout(command, PROMPT_TIMEOUT_S, data_sent=False) from None
                try:
                    async with asyncio.timeout(total):
                        return await asyncio.shield(pending.future)
                except TimeoutError:
                    if pending.data_sent and pending.kind in SEND_COMMANDS:
                        loop_time = asyncio.get_running_loop().time()
                        if len(self._in_doubt) == self._in_doubt.maxlen:
                            log.info("send in doubt (%s) replaced by a newer one", self._in_doubt[0].command)
                        self._in_doubt.append(SendInDoubt(command, tag, loop_time))
                    raise CommandTimeout(command, total, pending.data_sent) from None
            finally:
                self.framer.expect_prompt = False
                self._pending = None
                if not pending.future.done():
                    pending.future.cancel()
                if pending.future.done() and not pending.future.cancelled():
                    pending.future.exception()  # retrieved: an answer nobody waits for any more

    def write_raw(self, data: bytes) -> None:
        """Bytes outside any command (Ctrl-Z to clear a stuck prompt)."""
        self._write(data)


def _looks_like_pdu(line: str) -> bool:
    return len(line) >= 2 and all(c in "0123456789abcdefABCDEF" for c in line)


def error_code(text: str, table: dict[int, str]) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    code = code_from_text(table, text)
    return code if code is not None else 500 if table is CMS_ERRORS else 100
