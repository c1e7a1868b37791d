"""A simulated GSM modem on a pseudo-terminal: the default modem of a developer laptop.

``modem.driver = "sim"`` starts one inside the daemon; tests and demos start one
with ``python -m appliance.modem.simulator --profile ec25``. The appliance opens
its slave path through pyserial exactly as it opens ``/dev/ttyUSB2``.

It keeps a real message store (capacities per storage), answers the AT commands
an SMS gateway uses, decodes every PDU it is asked to send (``decode_pdu``), and
can auto-report delivery. Its quirks follow the family profile
(``sim_profiles.py``). Drive it from Python (``inject_sms``, ``ring``,
``hang``, ``unplug``...) or from outside over its control socket, one JSON
object per line, e.g. ``{"op": "inject_sms", "sender": "+358401234567", "text":
"hei"}`` (see docs/MODEM.md).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import heapq
import json
import logging
import os
import random
import re
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance import sim_traffic
from appliance.errors import DecodeError
from appliance.modem.sim_profiles import SIM_PROFILES, SimProfile
from appliance.ptysim import ControlServer, close_fds, control_request, open_pty
from appliance.sms.pdu import SmsSubmit, decode_pdu, encode_deliver, encode_status_report

log = logging.getLogger(__name__)

MAX_INPUT_LINE = 1024  # a command line longer than this is answered ERROR and dropped
MAX_PDU_INPUT = 1024  # hex digits accepted after the prompt
MAX_NETWORK_QUEUE = 1000  # messages the "network" holds while the store is full
MAX_SENT_LOG = 10000  # sent messages remembered for the control socket
MAX_RANDOM_SMS_PER_HOUR = 3600.0

CTRL_Z = 0x1A
ESC = 0x1B


@dataclass
class SentMessage:
    reference: int
    recipient: str
    text: str
    pdu: str
    parts: tuple[int, int] | None  # (seq, total) when concatenated
    concat_ref: int | None
    status_report: bool
    at: float


@dataclass
class _State:
    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    csms: int = 0
    cnmi: tuple[int, ...] = (0, 0, 0, 0, 0)
    mem: tuple[str, str, str] = ("SM", "SM", "SM")
    pin_ok: bool = True
    pin_tries: int = 3
    funct: int = 1
    awaiting_cnma: bool = False


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class SimulatedModem:
    """A GSM modem on a pty, with a family profile. ``start()``, then open ``path``."""

    def __init__(
        self,
        profile: SimProfile | str = "sim800",
        *,
        pin: str = "",
        link: str | Path | None = None,
        control: str | Path | None = None,
        cmgs_delay_s: float | None = None,
        auto_report: bool = True,
        report_delay_s: float = 0.5,
        first_reference: int = 0,
        garbage_every: int = 0,
        hang_after: int = 0,
        hang_seconds: float = 10.0,
        chatter: bool = True,
        seed: int = 0,
        silent_commands: tuple[str, ...] = (),
        pin_tries: int = 3,
        random_sms_per_hour: float = 0.0,
    ) -> None:
        self.profile = SIM_PROFILES[profile] if isinstance(profile, str) else profile
        self.pin = pin
        self.link = Path(link) if link else None
        self.control_path = Path(control) if control else None
        self.cmgs_delay_s = self.profile.cmgs_delay_s if cmgs_delay_s is None else cmgs_delay_s
        self.auto_report = auto_report
        self.report_delay_s = report_delay_s
        self.garbage_every = garbage_every
        self.hang_after = hang_after
        self.hang_seconds = hang_seconds
        self.chatter = chatter
        # Commands a minimal emulator never answers at all (not even ERROR), e.g. ("+CSMS", "I").
        self.silent_commands = frozenset(c.upper() for c in silent_commands)
        self.report_status = 0x00  # TP-ST of automatic reports (0 delivered)
        self.fail_sends: list[int] = []  # +CMS codes for the next sends, first first
        # Answer delays (s) for the next sends, first first, instead of cmgs_delay_s: a delay
        # longer than the appliance's +CMGS timeout is a late answer (the network held it);
        # a negative one holds the answer until release_held().
        self.delay_sends: list[float] = []
        self._held_answers: list[Callable[[], None]] = []
        self.rng = random.Random(seed)
        self.store: dict[str, dict[int, tuple[int, str]]] = {s: {} for s in self.profile.storages}
        self.network_queue: list[str] = []  # PDUs waiting because the store is full
        self.held: list[str] = []  # late parts held back until release_held() (bounded)
        self.sent: list[SentMessage] = []
        self.commands_seen = 0
        self.log: list[tuple[float, str]] = []  # (time, command) for diagnostics, bounded
        self._next_ref = first_reference & 0xFF
        self._state = _State(echo=True, pin_ok=not pin, pin_tries=pin_tries)
        self._master: int | None = None
        self._slave: int | None = None
        self.path = ""
        self._lock = threading.RLock()
        self._timers: list[_Timer] = []
        self._timer_seq = 0
        self._wake_r, self._wake_w = os.pipe()
        self.random_sms_per_hour = 0.0
        self.random_sms_sent = 0
        self._random_generation = 0
        self._random_rng = random.Random(seed + 1)
        self._initial_random_sms_per_hour = random_sms_per_hour
        self._thread: threading.Thread | None = None
        self._control: ControlServer | None = None
        self._stop = threading.Event()
        self._inbuf = bytearray()
        self._pdu_mode: int | None = None  # expected TPDU length while reading a PDU
        self._busy_until = 0.0  # hung / rebooting: input ignored until then
        self._deferred: list[bytes] = []  # output held during a delayed answer (URCs mid-response)
        self._unplugged = False
        self._responding = False

    # -- life cycle ---------------------------------------------------------

    def start(self) -> SimulatedModem:
        self._open_pty()
        self._thread = threading.Thread(target=self._loop, name=f"modem-sim {self.profile.name}", daemon=True)
        self._thread.start()
        if self.control_path:
            self._start_control()
        self._boot()
        if self._initial_random_sms_per_hour:
            self.set_random_sms(self._initial_random_sms_per_hour)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread:
            self._thread.join(timeout=3)
        if self._control is not None:
            self._control.stop()
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SimulatedModem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open_pty(self) -> None:
        self._master, self._slave, self.path = open_pty(self.link)

    def _close_pty(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    @property
    def port(self) -> str:
        """What the appliance opens: the stable link if there is one, else the pty path."""
        return str(self.link) if self.link else self.path

    # -- the outside world (thread-safe) -----------------------------------------

    def inject_sms(
        self,
        sender: str,
        text: str,
        *,
        ucs2: bool = False,
        concat_16bit: bool = False,
        order: list[int] | None = None,
        omit: list[int] | None = None,
        duplicate: bool = False,
        timestamp: datetime | None = None,
        smsc: str = "+358405202000",
        late: list[int] | None = None,
        late_delay_s: float = 0.0,
    ) -> int:
        """A message from the network (several PDUs when long). Returns the number of parts.

        ``late``: parts (sequence numbers) the network delivers ``late_delay_s`` after the others
        (longer than the appliance's reassembly timeout: a late part), or, with no delay, holds
        until ``release_held()``; ``duplicate`` repeats each part, a late one too."""
        pdus = encode_deliver(
            sender,
            text,
            timestamp or datetime.now(UTC).replace(microsecond=0),
            smsc=smsc,
            concat_ref=self.rng.randrange(1, 255 if not concat_16bit else 65535),
            concat_16bit=concat_16bit,
            force_ucs2=ucs2,
        )
        indexes = order or list(range(1, len(pdus) + 1))
        for seq in indexes:
            if omit and seq in omit:
                continue
            times = 2 if duplicate else 1
            if late and seq in late:
                with self._lock:
                    for _ in range(times):
                        if late_delay_s <= 0:
                            self.held.append(pdus[seq - 1])
                            del self.held[:-MAX_NETWORK_QUEUE]
                        else:
                            self._at(time.monotonic() + late_delay_s, functools.partial(self._receive, pdus[seq - 1]))
                continue
            for _ in range(times):
                self.deliver_pdu(pdus[seq - 1])
        return len(pdus)

    def set_random_sms(self, per_hour: float) -> None:
        """Patients write by themselves, ``per_hour`` messages an hour (0 stops; at most 3600)."""
        if not 0 <= per_hour <= MAX_RANDOM_SMS_PER_HOUR:
            raise ValueError(f"per_hour must be 0-{MAX_RANDOM_SMS_PER_HOUR}, got {per_hour}")
        with self._lock:
            self.random_sms_per_hour = float(per_hour)
            self._random_generation += 1
            if per_hour > 0:
                self._schedule_random_sms(self._random_generation)

    def _schedule_random_sms(self, generation: int) -> None:
        delay = sim_traffic.next_delay(self._random_rng, self.random_sms_per_hour)
        self._at(time.monotonic() + delay, lambda: self._random_sms(generation))

    def _random_sms(self, generation: int) -> None:
        if generation != self._random_generation or self._stop.is_set():
            return  # a newer rate replaced this stream
        if not self._unplugged:
            sender, text = sim_traffic.pick(self._random_rng)
            self.inject_sms(sender, text)
            self.random_sms_sent += 1
        self._schedule_random_sms(generation)

    def release_held(self) -> int:
        """Deliver the parts ``inject_sms(late=...)`` held back and the send answers held by a
        negative ``delay_sends``; returns how many."""
        with self._lock:
            held, self.held = self.held, []
            answers, self._held_answers = self._held_answers, []
            for answer in answers:
                answer()
            for pdu in held:
                self._receive(pdu)
        self._wake()
        return len(held) + len(answers)

    def deliver_pdu(self, pdu: str) -> None:
        """One SMS-DELIVER PDU (hex with SMSC) arriving from the network."""
        with self._lock:
            self._receive(pdu)
        self._wake()

    def ring(self, number: str = "+358401234567", times: int = 1) -> None:
        with self._lock:
            for _ in range(times):
                self._urc("RING")
                self._urc(f'+CLIP: "{number}",145,"",0,"",0')
        self._wake()

    def unsolicited(self, line: str, pdu: str | None = None) -> None:
        """Send any unsolicited line (and a PDU line after it): other modems' quirks on demand."""
        with self._lock:
            self._urc(line, pdu)
        self._wake()

    def hang(self, seconds: float | None = None, mode: str = "silent") -> None:
        """Stop answering: ``silent`` for ``seconds``; ``prompt``: stuck in PDU input (Ctrl-Z clears)."""
        with self._lock:
            if mode == "prompt":
                self._pdu_mode = 0
                self._inbuf.clear()
            else:
                self._busy_until = time.monotonic() + (seconds or self.hang_seconds)
                self._at(self._busy_until, self._reboot_done)

    def unplug(self) -> None:
        """The USB cable is pulled: the port disappears (the link too)."""
        with self._lock:
            self._unplugged = True
            if self.link:
                with contextlib.suppress(FileNotFoundError):
                    self.link.unlink()
            self._close_pty()
        self._wake()

    def replug(self) -> None:
        """The modem is back: a new pty (the link points at it) and a fresh boot."""
        with self._lock:
            self._state = _State(pin_ok=not self.pin)
            self._pdu_mode = None
            self._inbuf.clear()
            self._open_pty()
            self._unplugged = False
        self._boot()
        self._wake()

    def fill_store(self, storage: str | None = None) -> None:
        """Fill a storage with read messages (a full SIM)."""
        with self._lock:
            mem = storage or self._state.mem[0]
            box = self.store[mem]
            for index in range(1, self.profile.storages[mem] + 1):
                if index not in box:
                    box[index] = (
                        1,
                        encode_deliver("+358400000000", f"old {index}", datetime.now(UTC))[0],
                    )

    def stored(self, storage: str | None = None) -> dict[int, tuple[int, str]]:
        with self._lock:
            return dict(self.store[storage or self._state.mem[0]])

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "profile": self.profile.name,
                "path": self.path,
                "port": self.port,
                "storage": {m: {"used": len(b), "total": self.profile.storages[m]} for m, b in self.store.items()},
                "network_queue": len(self.network_queue),
                "sent": [
                    {
                        "reference": s.reference,
                        "recipient": s.recipient,
                        "text": s.text,
                        "parts": s.parts,
                    }
                    for s in self.sent[-100:]
                ],
                "sent_count": len(self.sent),
                "commands": self.commands_seen,
            }

    # -- the thread ----------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _at(self, when: float, action: Callable[[], None]) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, _Timer(when, self._timer_seq, action))
        self._wake()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                timeout = max(0.0, self._timers[0].when - time.monotonic()) if self._timers else 0.5
                fds = [self._wake_r] + ([self._master] if self._master is not None else [])
            try:
                readable, _, _ = select.select(fds, [], [], min(timeout, 0.5))
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            with self._lock:
                master = self._master
                if master is not None and master in readable:
                    try:
                        data = os.read(master, 4096)
                    except BlockingIOError:
                        data = b""
                    except OSError:
                        data = b""  # EIO: no slave open right now
                        time.sleep(0.02)
                    if data:
                        self._input(data)
                now = time.monotonic()
                while self._timers and self._timers[0].when <= now:
                    heapq.heappop(self._timers).action()

    def _emit(self, data: bytes) -> None:
        if self._master is None:
            return
        view = memoryview(data)
        deadline = time.monotonic() + 2.0
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # nobody reads: drop, as a modem's UART would
                time.sleep(0.005)
            except OSError:
                return

    def _line_out(self, text: str) -> None:
        self._emit(b"\r\n" + text.encode("utf-8", "replace") + b"\r\n")

    def _urc(self, text: str, pdu: str | None = None) -> None:
        """An unsolicited line (and its PDU line): now, or between the lines of a delayed answer."""
        chunk = b"\r\n" + text.encode() + b"\r\n" + (pdu.encode() + b"\r\n" if pdu else b"")
        if self._responding and self.profile.urc_mid_response:
            self._deferred.append(chunk)
        else:
            self._emit(chunk)

    # -- input parsing ---------------------------------------------------------

    def _input(self, data: bytes) -> None:
        if time.monotonic() < self._busy_until:
            return  # hung or rebooting: bytes vanish
        for byte in data:
            if self._pdu_mode is not None:
                self._pdu_byte(byte)
                continue
            if self._state.echo:
                self._emit(bytes([byte]))
            if byte == 0x0D:
                line = bytes(self._inbuf).decode("ascii", "replace").strip()
                self._inbuf.clear()
                if line:
                    self._command_line(line)
                if self._pdu_mode is not None or self._busy_until > time.monotonic():
                    continue
            elif byte == 0x0A:
                continue
            elif byte in (CTRL_Z, ESC):
                self._inbuf.clear()
            else:
                if len(self._inbuf) >= MAX_INPUT_LINE:
                    self._inbuf.clear()
                    self._line_out("ERROR")
                    continue
                self._inbuf.append(byte)

    def _pdu_byte(self, byte: int) -> None:
        if self._state.echo and byte not in (CTRL_Z, ESC):
            self._emit(bytes([byte]))
        if byte == ESC:
            self._pdu_mode = None
            self._inbuf.clear()
            self._line_out("OK")
            return
        if byte == CTRL_Z:
            length = self._pdu_mode
            pdu = bytes(self._inbuf).decode("ascii", "replace").strip()
            self._inbuf.clear()
            self._pdu_mode = None
            self._submit(pdu, length or 0)
            return
        if byte in (0x0D, 0x0A):
            return
        if len(self._inbuf) < MAX_PDU_INPUT:
            self._inbuf.append(byte)

    def _command_line(self, line: str) -> None:
        self.commands_seen += 1
        self.log.append((time.monotonic(), line))
        del self.log[:-200]
        if self.hang_after and self.commands_seen == self.hang_after:
            self.hang(self.hang_seconds)
            return
        if self.garbage_every and self.commands_seen % self.garbage_every == 0:
            self._emit(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 40))) + b"\r\n")
        if line.upper() == "A/":
            line = self.log[-2][1] if len(self.log) > 1 else "AT"
        if line[:2].upper() != "AT":
            self._final_error(None)
            return
        body = line[2:]
        if self.silent_commands and _command_name(body) in self.silent_commands:
            return
        try:
            lines, final = self._execute(body)
        except _Reply as reply:
            lines, final = reply.lines, reply.final
        if final is None:
            return  # answered later (prompt, delayed +CMGS, reboot)
        for out in lines:
            self._line_out(out)
        self._line_out(final)

    def _final_error(self, code: int | None, cms: bool = False) -> None:
        self._line_out(self._error_text(code, cms))

    def _error_text(self, code: int | None, cms: bool = False) -> str:
        if code is None or self._state.cmee == 0:
            return "ERROR"
        return f"+{'CMS' if cms else 'CME'} ERROR: {code}"

    # -- commands -----------------------------------------------------------------

    def _execute(self, body: str) -> tuple[list[str], str | None]:
        s = self._state
        upper = body.upper()
        p = self.profile
        if upper in ("", "&F", "Z"):
            if upper == "Z":
                s.echo, s.cmee = True, 0
            return [], "OK"
        if upper in ("E0", "E1"):
            s.echo = upper == "E1"
            return [], "OK"
        if upper in ("I", "I0"):
            return list(p.ati), "OK"
        if upper in ("+CGMI", "+GMI"):
            return [p.manufacturer], "OK"
        if upper in ("+CGMM", "+GMM"):
            return [p.model], "OK"
        if upper in ("+CGMR", "+GMR"):
            return [p.revision], "OK"
        if upper in ("+CGSN", "+GSN"):
            return ["86" + str(abs(hash(p.name)) % 10**13).zfill(13)], "OK"
        if upper.startswith("+CMEE="):
            s.cmee = _int(body[6:], 0)
            return [], "OK"
        if upper == "+CPIN?":
            if not s.pin_ok:
                return ["+CPIN: SIM PUK" if s.pin_tries <= 0 else "+CPIN: SIM PIN"], "OK"
            return ["+CPIN: READY"], "OK"
        if upper.startswith("+CPIN="):
            if s.pin_ok:
                raise _Reply([], self._error_text(3))
            given = body[6:].strip().strip('"')
            if s.pin_tries > 0 and given == self.pin:
                s.pin_ok = True
                self._at(time.monotonic() + 0.2, lambda: self._urc("+CPIN: READY"))
                return [], "OK"
            s.pin_tries -= 1
            raise _Reply([], self._error_text(16))
        retries = self._pin_retries(upper)
        if retries is not None:
            return retries, "OK"
        if not s.pin_ok and (upper.startswith("+CM") or upper.startswith("+CPMS") or upper.startswith("+CNMI")):
            raise _Reply([], self._error_text(11 if upper[:3] != "+CM" else 311, cms=upper.startswith("+CM")))
        if upper == "+CCLK?":  # the network's time (NITZ), in quarter hours east of UTC
            return [time.strftime('+CCLK: "%y/%m/%d,%H:%M:%S+00"', time.gmtime())], "OK"
        if upper == "+CSQ":
            return [f"+CSQ: {self.rng.randrange(12, 25)},99"], "OK"
        if upper in ("+CREG?", "+CGREG?"):
            return [f"{upper[:-1]}: 0,{1 if s.funct == 1 else 0}"], "OK"
        if upper == "+CEREG?":
            if not p.lte:
                raise _Reply([], self._error_text(4))
            return [f"+CEREG: 0,{1 if s.funct == 1 else 0}"], "OK"
        if upper.startswith(("+CREG=", "+CEREG=", "+CGREG=", "+CLIP=", "+CSMP=", "+CSCS=", "^CURC=")):
            if upper.startswith("+CEREG=") and not p.lte:
                raise _Reply([], self._error_text(4))
            if upper.startswith("^CURC=") and p.name != "huawei":
                raise _Reply([], self._error_text(None))
            if upper.startswith("^CURC="):
                self.chatter = body.strip().endswith("1")
            return [], "OK"
        if upper == "+COPS?":
            return [f'+COPS: 0,0,"{p.operator}",{p.act}'], "OK"
        if upper == "+CFUN?":
            return [f"+CFUN: {s.funct}"], "OK"
        if upper.startswith("+CFUN="):
            args = [_int(a, 1) for a in body[6:].split(",")]
            if len(args) > 1 and args[1] == 1:
                self._line_out("OK")
                self._busy_until = time.monotonic() + p.reboot_s
                self._at(self._busy_until, self._reboot_done)
                return [], None
            s.funct = args[0]
            return [], "OK"
        if upper.startswith("+CMGF="):
            s.cmgf = _int(body[6:], 0)
            return [], "OK"
        if upper == "+CMGF?":
            return [f"+CMGF: {s.cmgf}"], "OK"
        if upper.startswith("+CSMS="):
            s.csms = _int(body[6:], 0)
            return ["+CSMS: 1,1,1"], "OK"
        if upper.startswith("+CNMI="):
            values = tuple(_int(v, 0) for v in body[6:].split(","))
            if not values or values[0] > 3:
                raise _Reply([], self._error_text(303, cms=True))
            s.cnmi = values + (0,) * (5 - len(values))
            return [], "OK"
        if upper.startswith("+CPMS"):
            return self._cpms(body)
        if upper.startswith("+CMGS="):
            if s.cmgf != 0:
                raise _Reply([], self._error_text(302, cms=True))
            length = _int(body[6:], -1)
            if not 7 <= length <= 176:
                raise _Reply([], self._error_text(304, cms=True))
            self._pdu_mode = length
            self._emit(b"\r\n> ")
            return [], None
        if upper.startswith("+CMGL"):
            if s.cmgf != 0:
                raise _Reply([], self._error_text(302, cms=True))
            stat = _int(body.split("=", 1)[1], 4) if "=" in body else 0
            box = self.store[s.mem[0]]
            lines: list[str] = []
            for index in sorted(box):
                st, pdu = box[index]
                if stat in (4, st):
                    lines += [f"+CMGL: {index},{st},,{len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu]
                    if st == 0:
                        box[index] = (1, pdu)
            return lines, "OK"
        if upper.startswith("+CMGR="):
            index = _int(body[6:], -1)
            box = self.store[s.mem[0]]
            if index not in box:
                if 1 <= index <= p.storages[s.mem[0]]:
                    return [], "OK"  # an empty slot
                raise _Reply([], self._error_text(321, cms=True))
            st, pdu = box[index]
            box[index] = (1 if st == 0 else st, pdu)
            return [f"+CMGR: {st},,{len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu], "OK"
        if upper.startswith("+CMGD="):
            args = [_int(a, 0) for a in body[6:].split(",")]
            box = self.store[s.mem[0]]
            if len(args) > 1 and args[1] >= 1:
                flag = args[1]
                for index in list(box):
                    st = box[index][0]
                    if flag == 4 or (flag == 1 and st == 1) or (flag == 2 and st in (1, 3)) or flag == 3:
                        del box[index]
            elif args[0] in box:
                del box[args[0]]
            elif not 1 <= args[0] <= p.storages[s.mem[0]]:
                raise _Reply([], self._error_text(321, cms=True))
            self._at(time.monotonic() + 0.05, self._drain_network)
            return [], "OK"
        if upper == "+CNMA" or upper.startswith("+CNMA="):
            if not s.awaiting_cnma:
                raise _Reply([], self._error_text(340, cms=True))
            s.awaiting_cnma = False
            return [], "OK"
        if upper in ("H", "+CHUP"):
            return [], "OK"
        raise _Reply([], self._error_text(None))

    def _pin_retries(self, upper: str) -> list[str] | None:
        """The SIM's remaining PIN tries, in the dialect of the profile's family (None: not asked)."""
        s = self._state
        tries, puk = max(s.pin_tries, 0), 10
        family = self.profile.pin_retries_command
        asked = {"+CPINR": upper.startswith("+CPINR"), "+SPIC": upper == "+SPIC",
                 "+QPINC": upper.startswith("+QPINC"), "^CPIN": upper == "^CPIN?"}
        if not any(asked.values()):
            return None
        if not asked.get(family):
            raise _Reply([], self._error_text(None))
        state = "READY" if s.pin_ok else ("SIM PUK" if tries == 0 else "SIM PIN")
        if family == "+CPINR":
            return [f"+CPINR: SIM PIN,{tries},3", f"+CPINR: SIM PUK,{puk},10"]
        if family == "+SPIC":
            return [f"+SPIC: {tries},3,{puk},10"]
        if family == "+QPINC":
            return [f'+QPINC: "SC",{tries},{puk}', '+QPINC: "P2",3,10']
        return [f"^CPIN: {state},{tries if not s.pin_ok else ''},{puk},{tries},10,3"]

    def _cpms(self, body: str) -> tuple[list[str], str]:
        s = self._state
        p = self.profile
        if body.upper() == "+CPMS?":
            parts = [f'"{m}",{len(self.store[m])},{p.storages[m]}' for m in s.mem]
            return ["+CPMS: " + ",".join(parts)], "OK"
        if body.upper() == "+CPMS=?":
            names = ",".join(f'"{m}"' for m in p.storages)
            return [f"+CPMS: ({names}),({names}),({names})"], "OK"
        wanted = [a.strip().strip('"').upper() for a in body.split("=", 1)[1].split(",")]
        if p.cpms_one_argument and len(wanted) > 1:
            raise _Reply([], self._error_text(302, cms=True) if s.cmee else "ERROR")
        if any(m not in p.storages for m in wanted) or not wanted or len(wanted) > 3:
            raise _Reply([], self._error_text(302, cms=True))
        mem = list(s.mem)
        for i, m in enumerate(wanted):
            mem[i] = m
        s.mem = (mem[0], mem[1], mem[2])
        counts = ",".join(f"{len(self.store[m])},{p.storages[m]}" for m in s.mem)
        return [f"+CPMS: {counts}"], "OK"

    # -- sending ---------------------------------------------------------------------

    def _submit(self, pdu: str, length: int) -> None:
        try:
            msg = decode_pdu(pdu, with_smsc=True, direction="mo")
            if not isinstance(msg, SmsSubmit):
                raise DecodeError("not an SMS-SUBMIT")
            smsc_octets = int(pdu[:2], 16) + 1
            if len(pdu) // 2 - smsc_octets != length:
                raise DecodeError(f"AT+CMGS={length} but the TPDU has {len(pdu) // 2 - smsc_octets} octets")
        except (DecodeError, ValueError) as err:
            log.info("simulated modem: bad PDU (%s)", err)
            self._line_out(self._error_text(304, cms=True))
            return
        delay: float | None = self.cmgs_delay_s  # None: held until release_held()
        if self.delay_sends:
            first = self.delay_sends.pop(0)
            delay = None if first < 0 else first
        if self.fail_sends:
            code = self.fail_sends.pop(0)
            self._after_delay(lambda: self._line_out(self._error_text(code, cms=True)), delay)
            return
        reference = self._next_ref
        self._next_ref = (self._next_ref + 1) & 0xFF
        concat = msg.concat
        self.sent.append(
            SentMessage(
                reference,
                msg.recipient,
                msg.text,
                pdu,
                (concat.seq, concat.total) if concat else None,
                concat.ref if concat else None,
                msg.status_report,
                time.monotonic(),
            )
        )
        del self.sent[:-MAX_SENT_LOG]

        def answer() -> None:
            self._line_out(f"+CMGS: {reference}")
            self._line_out("OK")
            if msg.status_report and self.auto_report:
                self._at(
                    time.monotonic() + self.report_delay_s,
                    lambda: self.status_report(reference, msg.recipient, self.report_status),
                )

        self._after_delay(answer, delay)

    def _after_delay(self, answer: Callable[[], None], delay: float | None) -> None:
        """Answer after the network delay; URCs raised meanwhile go out mid-response.

        Commands that come meanwhile are answered at once: a delay longer than the other
        side's timeout puts the answer among the next commands' answers, as on a real modem."""
        if delay is not None and delay <= 0:
            answer()
            return
        self._responding = True

        def finish() -> None:
            deferred, self._deferred = self._deferred, []
            self._responding = False
            if deferred:
                # a real modem's +CMTI can land just before the +CMGS line
                for chunk in deferred:
                    self._emit(chunk)
            answer()

        if delay is None:
            self._held_answers.append(finish)
            del self._held_answers[:-MAX_NETWORK_QUEUE]
            return
        self._at(time.monotonic() + delay, finish)

    def status_report(self, reference: int, recipient: str, status: int = 0) -> None:
        """A delivery report for ``reference`` (routed by AT+CNMI ds: stored or direct)."""
        with self._lock:
            now = datetime.now(UTC).replace(microsecond=0)
            pdu = encode_status_report(reference, recipient, status, now, now)
            ds = self._state.cnmi[3] if len(self._state.cnmi) > 3 else 0
            if ds == 0:
                return
            if ds == 1 or self.profile.report_mode == "direct":
                self._urc(f"+CDS: {len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu)
                self._state.awaiting_cnma = self._state.csms == 1
                return
            mem = self._state.mem[2]
            index = self._free_index(mem)
            if index is None:
                return  # full: the report is lost, as on a real SIM
            self.store[mem][index] = (0, pdu)
            self._urc(f'+CDSI: "{mem}",{index}')
        self._wake()

    # -- receiving ----------------------------------------------------------------------

    def _receive(self, pdu: str) -> None:
        s = self._state
        mt = s.cnmi[1] if len(s.cnmi) > 1 else 0
        if mt == 2 and s.pin_ok:
            self._urc(f"+CMT: ,{len(pdu) // 2 - 1 - int(pdu[:2], 16)}", pdu)
            s.awaiting_cnma = s.csms == 1
            return
        mem = s.mem[2]
        index = self._free_index(mem)
        if index is None:
            if len(self.network_queue) < MAX_NETWORK_QUEUE:
                self.network_queue.append(pdu)  # the network retries later; no +CMTI
            if self.profile.name == "huawei":
                self._urc('^SMMEMFULL: "SM"')
            return
        self.store[mem][index] = (0, pdu)
        if mt in (1, 3) and s.pin_ok:
            self._urc(f'+CMTI: "{mem}",{index}')

    def _free_index(self, mem: str) -> int | None:
        box = self.store[mem]
        for index in range(1, self.profile.storages[mem] + 1):
            if index not in box:
                return index
        return None

    def _drain_network(self) -> None:
        waiting, self.network_queue = self.network_queue, []
        for pdu in waiting:
            self._receive(pdu)

    # -- boot --------------------------------------------------------------------------

    def _boot(self) -> None:
        def announce() -> None:
            for line in self.profile.boot_urcs:
                self._line_out(line)
            self._drain_network()

        with self._lock:
            self._at(time.monotonic() + 0.05, announce)
            if self.profile.chatter and self.profile.chatter_every_s > 0:
                self._at(time.monotonic() + self.profile.chatter_every_s, self._chatter)

    def _chatter(self) -> None:
        if self._stop.is_set() or self._unplugged:
            return
        if self.chatter and time.monotonic() >= self._busy_until:
            self._urc(self.rng.choice(self.profile.chatter))
        self._at(time.monotonic() + self.profile.chatter_every_s, self._chatter)

    def _reboot_done(self) -> None:
        if time.monotonic() + 0.01 < self._busy_until:
            return
        self._state = _State(pin_ok=not self.pin)
        self._pdu_mode = None
        self._inbuf.clear()
        for line in self.profile.boot_urcs:
            self._line_out(line)

    # -- control socket ---------------------------------------------------------------

    def _start_control(self) -> None:
        assert self.control_path is not None
        self._control = ControlServer(self.control_path, self.control, "modem-sim-control")
        self._control.start()

    def control(self, raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
        """One control request (the socket's JSON object) -> its JSON answer."""
        try:
            req = raw if isinstance(raw, dict) else json.loads(raw)
            if not isinstance(req, dict):
                raise ValueError("a JSON object is expected")
            op = req.get("op")
            if op == "inject_sms":
                parts = self.inject_sms(
                    str(req["sender"]),
                    str(req["text"]),
                    ucs2=bool(req.get("ucs2")),
                    concat_16bit=bool(req.get("concat_16bit")),
                    order=req.get("order"),
                    omit=req.get("omit"),
                    duplicate=bool(req.get("duplicate")),
                    late=req.get("late"),
                    late_delay_s=float(req.get("late_delay_s", 0.0)),
                )
                return {"ok": True, "parts": parts}
            if op == "release_held":
                return {"ok": True, "released": self.release_held()}
            if op == "deliver_pdu":
                self.deliver_pdu(str(req["pdu"]))
                return {"ok": True}
            if op == "unsolicited":
                self.unsolicited(str(req["line"]), req.get("pdu"))
                return {"ok": True}
            if op == "ring":
                self.ring(str(req.get("number", "+358401234567")), int(req.get("times", 1)))
                return {"ok": True}
            if op == "report":
                self.status_report(int(req["reference"]), str(req["recipient"]), int(req.get("status", 0)))
                return {"ok": True}
            if op == "hang":
                self.hang(float(req.get("seconds", self.hang_seconds)), str(req.get("mode", "silent")))
                return {"ok": True}
            if op == "unplug":
                self.unplug()
                return {"ok": True}
            if op == "replug":
                self.replug()
                return {"ok": True}
            if op == "fill_store":
                self.fill_store(req.get("storage"))
                return {"ok": True}
            if op == "fail_sends":
                self.fail_sends.extend(int(c) for c in req.get("codes", []))
                return {"ok": True}
            if op == "delay_sends":
                self.delay_sends.extend(float(d) for d in req.get("delays", []))
                return {"ok": True}
            if op == "set":
                for key in ("cmgs_delay_s", "auto_report", "report_delay_s", "report_status"):
                    if key in req:
                        setattr(self, key, type(getattr(self, key))(req[key]))
                return {"ok": True}
            if op == "random_sms":
                self.set_random_sms(float(req.get("per_hour", 0)))
                return {"ok": True, "per_hour": self.random_sms_per_hour}
            if op == "state":
                return {"ok": True, "state": self.state()}
            raise ValueError(f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError) as err:
            return {"ok": False, "error": str(err)}


class _Reply(Exception):
    def __init__(self, lines: list[str], final: str) -> None:
        self.lines, self.final = lines, final


def _int(text: str, default: int) -> int:
    try:
        return int(text.strip().strip('"'))
    except ValueError:
        return default


def main(argv: list[str] | None = None) -> int:
    """``python -m appliance.modem.simulator``: run a simulated modem, or send it a request."""
    parser = argparse.ArgumentParser(prog="python -m appliance.modem.simulator")
    parser.add_argument("--profile", default="sim800", choices=sorted(SIM_PROFILES))
    parser.add_argument("--link", help="keep a symlink to the pty here (stable across unplug/replug)")
    parser.add_argument("--control", help="Unix socket for control requests (JSON lines)")
    parser.add_argument("--pin", default="")
    parser.add_argument("--cmgs-delay", type=float, default=None)
    parser.add_argument("--request", help="send this JSON request to --control and print the answer")
    args = parser.parse_args(argv)
    if args.request:
        if not args.control:
            parser.error("--request needs --control")
        print(json.dumps(control_request(args.control, json.loads(args.request))))
        return 0
    logging.basicConfig(level=logging.INFO)
    sim = SimulatedModem(
        args.profile,
        pin=args.pin,
        link=args.link,
        control=args.control,
        cmgs_delay_s=args.cmgs_delay,
    )
    sim.start()
    print(
        f"simulated {args.profile} modem on {sim.port}" + (f", control {args.control}" if args.control else ""),
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _command_name(body: str) -> str:
    """``+CSMS=1`` -> ``+CSMS``; ``I`` -> ``I``; ``E0`` -> ``E``."""
    upper = body.upper()
    if upper[:1] in "+^$#*%&":
        return re.split(r"[=?]", upper, maxsplit=1)[0]
    return upper[:1]
