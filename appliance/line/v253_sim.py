"""A simulated V.253 voice modem on a pseudo-terminal (``line.driver = "v253"`` against it).

The line behind it is the same :class:`~appliance.line.sim.SimExchange` the ``sim``
driver uses, so the audio in its voice stream is real line audio (caller ID, keys,
tones, speech) sampled in the chosen ``+VSM`` format. The chip family
(``v253_profiles.py``: USRobotics 5637, Conexant CX93001, an old Rockwell) decides
its answers: ATI strings, ``AT+FCLASS=?``, ``AT+VSM=?``, which caller-ID switch it
knows and whether ``ATZ`` forgets it, the style of its ``NMBR =`` lines and when
``ATD`` says ``VCON``.

Modes for the tests: ``dtmf_mode`` ``both`` (keys as audio and ``<DLE>`` digits),
``audio`` (the chip reports none) or ``dle`` (the chip mutes them from the audio);
``report_hangup=False`` (no ``<DLE>l`` when the caller hangs up); ``unplug()`` /
``replug()``. Run one with ``python -m appliance.line.v253_sim --profile cx93001
--link /tmp/voicemodem --control /tmp/voicemodem.sock``; its control socket takes the
``appliance line sim`` requests (``ring``, ``keys``, ``hangup`` ...) plus ``mode``,
``unplug``, ``replug``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import select
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.line import dle
from appliance.line.base import EventKind
from appliance.line.core import FRAME_BYTES, FRAME_S, SILENCE_RMS, rms
from appliance.line.sim import SimExchange, exchange_control
from appliance.line.v253_profiles import PROFILES, V253Profile
from appliance.ptysim import ControlServer, close_fds, control_request, open_pty

log = logging.getLogger(__name__)

MAX_INPUT_LINE = 256
MAX_TX_BUFFER_S = 4.0  # host audio the modem buffers for playback (more is dropped and counted)
DTMF_MODES = ("both", "audio", "dle")
SILENCE_REPORT_S = 5.0
TONE_EVENTS = {"busy": "b", "congestion": "b", "dial": "d", "ringback": "r"}


class V253Simulator:
    """A voice modem on a pty. ``start()``, then open ``path`` (or ``link``)."""

    def __init__(
        self,
        profile: V253Profile | str = "cx93001",
        *,
        country: str = "US",
        standard: str = "",
        link: str | Path | None = None,
        control: str | Path | None = None,
        speed: float = 1.0,
        dtmf_mode: str = "both",
        report_hangup: bool = True,
        echo_db: float = -30.0,
        seed: int = 0,
    ) -> None:
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        if dtmf_mode not in DTMF_MODES:
            raise ValueError(f"dtmf_mode is one of {DTMF_MODES}")
        if speed <= 0:
            raise ValueError("speed must be > 0 (a modem streams in real time)")
        self.link = Path(link) if link else None
        self.control_path = Path(control) if control else None
        self.speed = speed
        self.report_hangup = report_hangup
        self.exchange = SimExchange(country, standard=standard, echo_db=echo_db, seed=seed)
        self.exchange.report_cid = True
        self.exchange.report_tones = True
        self.set_dtmf_mode(dtmf_mode)
        self.path = ""
        self.commands: list[str] = []  # every command line received (bounded)
        self.tx_dropped = 0
        self.last_cid_written = 0.0
        self._hung_until = 0.0
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._control: ControlServer | None = None
        self._unplugged = False
        self._reset_state()

    def _reset_state(self) -> None:
        self.echo = True
        self.verbose = True
        self.fclass = "0"
        self.cid = False
        self.gci = "B5"
        self.vsm = next(c for c in self.profile.codecs if c.encoding)
        self.mode = "command"  # command, vtx, vrx, vtr
        self.off_hook = False
        self._inbuf = bytearray()
        self._tx_pcm = bytearray()
        self._unshield = dle.Unshielder()
        self._dialing_result: str | None = None
        self._dial_deadline = 0.0
        self._quiet_s = 0.0

    def set_dtmf_mode(self, mode: str) -> None:
        if mode not in DTMF_MODES:
            raise ValueError(f"dtmf_mode is one of {DTMF_MODES}")
        self.dtmf_mode = mode
        self.exchange.keys_audio = mode != "dle"
        self.exchange.report_keys = mode != "audio"

    # -- life cycle ---------------------------------------------------------

    def start(self) -> V253Simulator:
        self._open_pty()
        self._thread = threading.Thread(target=self._loop, name=f"v253-sim {self.profile.name}", daemon=True)
        self._thread.start()
        if self.control_path:
            self._start_control()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread:
            self._thread.join(timeout=3)
        if self._control is not None:
            self._control.stop()
        if self.link:
            with contextlib.suppress(OSError):
                self.link.unlink()
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> V253Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> str:
        return str(self.link) if self.link else self.path

    def _open_pty(self) -> None:
        self._master, self._slave, self.path = open_pty(self.link)

    def _close_pty(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def unplug(self) -> None:
        """The USB cable is pulled: the port disappears (the link too); the call drops."""
        with self._lock:
            self._unplugged = True
            if self.link:
                with contextlib.suppress(FileNotFoundError):
                    self.link.unlink()
            self._close_pty()
            self.exchange.on_hook()
            self._reset_state()
        self._wake()

    def replug(self) -> None:
        with self._lock:
            self._reset_state()
            self._open_pty()
            self._unplugged = False
        self._wake()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "profile": self.profile.name,
                "port": self.port,
                "mode": self.mode,
                "off_hook": self.off_hook,
                "fclass": self.fclass,
                "cid": self.cid,
                "gci": self.gci,
                "vsm": [self.vsm.code, self.vsm.name],
                "dtmf_mode": self.dtmf_mode,
                "report_hangup": self.report_hangup,
                "unplugged": self._unplugged,
                "tx_dropped": self.tx_dropped,
                "exchange": self.exchange.snapshot(),
            }

    # -- the thread ------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        next_frame = time.monotonic()
        period = FRAME_S / self.speed
        while not self._stop.is_set():
            with self._lock:
                running = (self.exchange.active or self.off_hook) and not self._unplugged
                fds = [self._wake_r] + ([self._master] if self._master is not None else [])
            timeout = max(0.0, next_frame - time.monotonic()) if running else 0.5
            try:
                readable, _, _ = select.select(fds, [], [], timeout)
            except (OSError, ValueError):
                time.sleep(0.02)
                continue
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            with self._lock:
                master = self._master
                if master is not None and master in readable:
                    try:
                        data = os.read(master, 65536)
                    except BlockingIOError:
                        data = b""
                    except OSError:
                        data = b""  # EIO: no slave open right now
                        time.sleep(0.02)
                    if data:
                        self._input(data)
                now = time.monotonic()
                if not running:
                    next_frame = now
                    continue
                frames = 0
                while next_frame <= now and frames < 10:
                    self._frame()
                    next_frame += period
                    frames += 1
                if now - next_frame > 1.0:
                    next_frame = now  # fell far behind: do not burst

    def _emit(self, data: bytes) -> None:
        if self._master is None or not data:
            return
        view = memoryview(data)
        deadline = time.monotonic() + 1.0
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # nobody reads: drop, as a modem's UART would
                time.sleep(0.001)
            except OSError:
                return

    def _line(self, text: str) -> None:
        self._emit(f"\r\n{text}\r\n".encode() if self.verbose else f"{text}\r".encode())

    def _event_byte(self, code: str) -> None:
        self._emit(bytes([dle.DLE]) + code.encode("latin-1"))

    # -- one 20 ms frame ------------------------------------------------------------

    def _frame(self) -> None:
        played: bytes | None = None
        if self.mode in ("vtx", "vtr") and self._tx_pcm:
            played = bytes(self._tx_pcm[:FRAME_BYTES])
            del self._tx_pcm[:FRAME_BYTES]
            if len(played) < FRAME_BYTES:
                played += bytes(FRAME_BYTES - len(played))
        pcm, events = self.exchange.frame(played)
        streaming = self.mode in ("vrx", "vtr")
        for kind, data in events:
            self._device_event(kind, data, streaming)
        if streaming:
            self._chip_silence(pcm)
            self._emit(dle.shield(dle.encode(pcm, self.vsm.encoding)))
        self._check_dial()

    def _chip_silence(self, pcm: bytes) -> None:
        """``<DLE>s`` once per stretch of ``SILENCE_REPORT_S`` of silence (the chip's +VSD detector)."""
        if rms(pcm) < SILENCE_RMS:
            before = self._quiet_s
            self._quiet_s += FRAME_S
            if before < SILENCE_REPORT_S <= self._quiet_s:
                self._event_byte("s")
        else:
            self._quiet_s = 0.0

    def _device_event(self, kind: EventKind, data: dict[str, Any], streaming: bool) -> None:
        in_voice = self.mode != "command"
        if kind == EventKind.RING:
            if in_voice:
                self._event_byte("R")
            else:
                self._line("RING")
        elif kind == EventKind.CALLER_ID:
            if self.cid and not in_voice:
                self._caller_id_lines(data)
        elif kind == EventKind.DTMF:
            if in_voice:
                self._event_byte(str(data["digit"]))
        elif kind == EventKind.HANGUP:
            if in_voice and self.report_hangup:
                self._event_byte("l")
        elif kind == EventKind.TONE:
            code = TONE_EVENTS.get(str(data.get("tone")))
            if code and in_voice:
                self._event_byte(code)
            elif self._dialing_result is not None and data.get("tone") in ("busy", "congestion"):
                self._dialing_result = "BUSY"
        elif kind == EventKind.DESK_OFF_HOOK and in_voice:
            self._event_byte("H")  # the desk phone on the modem's PHONE jack

    def _caller_id_lines(self, data: dict[str, Any]) -> None:
        eq = " = " if self.profile.cid_spaced else "="
        now = datetime.now()
        number = data.get("number") or ("P" if data.get("reason") == "private" else "O")
        if data.get("standard") == "dtmf" and self.profile.name == "rockwell":
            return  # marked: the old chip decodes FSK caller ID only
        lines = [f"DATE{eq}{now:%m%d}", f"TIME{eq}{now:%H%M}", f"NMBR{eq}{number}"]
        if data.get("name"):
            lines.append(f"NAME{eq}{data['name']}")
        self._emit(("\r\n" + "\r\n".join(lines) + "\r\n").encode("latin-1", "replace"))
        self.last_cid_written = time.monotonic()

    # -- input from the host -----------------------------------------------------------

    def hang(self, seconds: float) -> None:
        """The chip stops answering for ``seconds`` (input is dropped), as hung modems do."""
        with self._lock:
            self._hung_until = time.monotonic() + seconds

    def _input(self, data: bytes) -> None:
        if time.monotonic() < self._hung_until:
            return
        if self.mode == "command":
            self._command_bytes(data)
        else:
            self._stream_bytes(data)

    def _command_bytes(self, data: bytes) -> None:
        for i, byte in enumerate(data):
            if self.mode != "command":
                self._stream_bytes(data[i:])
                return
            if byte in (0x0D,):
                line = self._inbuf.decode("latin-1", "replace")
                self._inbuf.clear()
                if self.echo:
                    self._emit(line.encode("latin-1", "replace") + b"\r")
                self._command_line(line.strip())
            elif byte == 0x0A:
                continue
            elif len(self._inbuf) < MAX_INPUT_LINE:
                self._inbuf.append(byte)

    def _stream_bytes(self, data: bytes) -> None:
        for kind, value in self._unshield.feed(data):
            if kind == "data":
                if self.mode in ("vtx", "vtr"):
                    pcm = dle.decode(bytes(value), self.vsm.encoding)  # type: ignore[arg-type]
                    room = int(MAX_TX_BUFFER_S * 16000) - len(self._tx_pcm)
                    if len(pcm) > room:
                        self.tx_dropped += len(pcm) - max(room, 0)
                        pcm = pcm[: max(room, 0)]
                    self._tx_pcm += pcm
            elif value == "!" or (value == "\x03" and self.mode == "vtx") or (value == "\x03" and self.mode == "vtr"):
                self._end_stream()
            elif value == "\x18":
                self._tx_pcm.clear()

    def _end_stream(self) -> None:
        if self.mode in ("vrx", "vtr"):
            self._emit(dle.DLE_ETX)
        self.mode = "command"
        self._unshield.reset()
        self._tx_pcm.clear()
        self._line("OK")

    # -- commands ---------------------------------------------------------------------

    def _command_line(self, line: str) -> None:
        if len(self.commands) < 10000:
            self.commands.append(line)
        upper = line.upper()
        if not upper.startswith("AT"):
            return
        body = line[2:].strip()
        final = self._execute_all(body)
        if final:
            self._line(final)

    def _execute_all(self, body: str) -> str | None:
        """A command line: basic commands chained (``E1 V1``), extended ones after ``+``/``#``/``%``."""
        rest = body
        out: str | None = "OK"
        while rest:
            rest = rest.lstrip(" ;")
            if not rest:
                break
            if rest[0] in "+#%":
                cmd, _, rest = rest.partition(";")
                out = self._extended(cmd.strip())
            elif rest[0].upper() == "D":
                return self._dial(rest[1:].strip().rstrip(";"))
            else:
                m = re.match(r"(&?[A-Za-z])(\d*)", rest)
                if not m:
                    return "ERROR"
                out = self._basic(m.group(1).upper(), m.group(2))
                rest = rest[m.end() :]
            if out == "ERROR" or self.mode != "command":
                return out
        return out

    def _basic(self, cmd: str, arg: str) -> str | None:
        n = int(arg) if arg else 0
        if cmd in {"Z", "&F"}:
            self._hang_up()
            keep_cid = self.cid and not self.profile.forgets_cid_on_reset
            self._reset_state()
            self.cid = keep_cid
            return "OK"
        if cmd == "E":
            self.echo = bool(n)
        elif cmd == "V":
            self.verbose = bool(n)
        elif cmd == "I":
            answer = self.profile.ati.get(n)
            if answer is None:
                return "ERROR"
            if answer != "OK":
                self._line(answer)
        elif cmd == "H":
            self._hang_up()
        elif cmd == "A":
            if self.exchange.state != "ringing":
                return "NO CARRIER"
            self.exchange.off_hook()
            self.off_hook = True
            return "VCON" if self.fclass == "8" else "CONNECT"
        elif cmd not in ("S", "M", "L", "X", "Q", "&C", "&D", "&K"):
            return "ERROR"
        return "OK"

    def _extended(self, cmd: str) -> str:
        upper = cmd.upper()
        name, op, arg = re.match(r"([+#%][A-Z]+)(=\?|=|\?)?(.*)", upper).groups()  # type: ignore[union-attr]
        arg = arg.strip()
        if name == "+FCLASS":
            if op == "=?":
                self._line(self.profile.fclass)
            elif op == "?":
                self._line(self.fclass)
            elif arg in ("0", "1", "1.0", "2", "8") and arg in self.profile.fclass.replace("(", "").replace(
                ")", ""
            ).split(","):
                self.fclass = arg
            else:
                return "ERROR"
            return "OK"
        if name in ("+VCID", "#CID", "%CCID"):
            if name not in self.profile.cid_commands:
                return "ERROR"
            if op == "?":
                self._line(str(int(self.cid)))
            elif op == "=?":
                self._line("(0-2)" if name == "+VCID" else "(0,1)")
            elif arg in ("0", "1", "2"):
                self.cid = arg != "0"
            else:
                return "ERROR"
            return "OK"
        if name == "+GCI":
            if op == "=?":
                self._line("+GCI: (" + ",".join(self.profile.gci) + ")")
            elif op == "?":
                self._line(f"+GCI: {self.gci}")
            elif arg in self.profile.gci:
                self.gci = arg
            else:
                return "ERROR"
            return "OK"
        if name == "+VSM":
            if op == "=?":
                for line in self.profile.vsm_lines:
                    self._line(line)
                return "OK"
            if op == "?":
                self._line(f"{self.vsm.code},{8000}")
                return "OK"
            parts = [p.strip() for p in arg.split(",")]
            codec = next((c for c in self.profile.codecs if str(c.code) == parts[0]), None)
            rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 8000
            if codec is None or rate not in codec.rates or not codec.encoding or rate != 8000:
                return "ERROR"  # ADPCM and other rates are offered but not simulated
            self.vsm = codec
            return "OK"
        if name == "+VLS":
            if self.fclass != "8":
                return "ERROR"
            if arg in ("0", ""):
                self._hang_up()
            else:
                self.exchange.off_hook()
                self.off_hook = True
            return "OK"
        if name in ("+VTX", "+VRX", "+VTR"):
            if self.fclass != "8" or not self.off_hook or (name == "+VTR" and not self.profile.vtr):
                return "ERROR"
            self._line("CONNECT")
            self.mode = {"+VTX": "vtx", "+VRX": "vrx", "+VTR": "vtr"}[name]
            self._unshield.reset()
            return ""
        if name in ("+VSD", "+VIT", "+VGT", "+VGR", "+VRA", "+VRN", "+VDR", "+VEM", "+VNH", "+VGM", "+VGS"):
            return "OK"
        return "ERROR"

    def _dial(self, number: str) -> str | None:
        digits = "".join(c for c in number if c in "0123456789*#ABCD")
        if self.fclass != "8":
            return "NO CARRIER"
        if not self.off_hook:
            self.exchange.off_hook()
            self.off_hook = True
        if self.exchange.state == "dead":
            self._dialing_result = "NO DIALTONE"
            self._dial_deadline = self.exchange.now + 2.0
            return None
        self.exchange.dial(digits)
        if not self.profile.vcon_on_answer:
            return "VCON"
        self._dialing_result = ""
        self._dial_deadline = self.exchange.now + 30.0
        return None

    def _check_dial(self) -> None:
        result = self._dialing_result
        if result is None:
            return
        ex = self.exchange
        if result == "" and ex.state == "call":
            result = "VCON"
        elif result == "" and ex.now >= self._dial_deadline:
            result = "NO ANSWER"
        elif result == "NO DIALTONE" and ex.now < self._dial_deadline:
            return
        if result:
            self._dialing_result = None
            if result != "VCON":
                self._hang_up()
            self._line(result)

    def _hang_up(self) -> None:
        if self.mode != "command":
            self.mode = "command"
        self._dialing_result = None
        if self.off_hook:
            self.exchange.on_hook()
        self.off_hook = False
        self._tx_pcm.clear()

    # -- control socket ------------------------------------------------------------------

    def _start_control(self) -> None:
        assert self.control_path is not None
        self._control = ControlServer(self.control_path, self.control, "v253-sim-control")
        self._control.start()

    def control(self, raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
        """One control request -> its answer (the ``sim`` line's ops, ``mode``, ``unplug``, ``replug``)."""
        try:
            req = raw if isinstance(raw, dict) else json.loads(raw)
            if not isinstance(req, dict):
                raise ValueError("a JSON object is expected")
            op = req.get("op")
            if op == "unplug":
                self.unplug()
            elif op == "replug":
                self.replug()
            elif op == "hang":
                self.hang(float(req.get("seconds", 10.0)))
            elif op == "mode":
                with self._lock:
                    if "dtmf_mode" in req:
                        self.set_dtmf_mode(str(req["dtmf_mode"]))
                    if "report_hangup" in req:
                        self.report_hangup = bool(req["report_hangup"])
            elif op != "state":
                with self._lock:
                    if not exchange_control(self.exchange, req):
                        raise ValueError(f"unknown op {op!r}")
                self._wake()
            return {"ok": True, "state": self.state()}
        except (ValueError, KeyError, TypeError) as err:
            return {"ok": False, "error": str(err)}

    # -- for tests: drive the line directly ----------------------------------------------

    def line(self, op: str, **args: Any) -> None:
        """``sim.line("ring", number=...)``: a control op, raising ValueError if refused."""
        answer = self.control({"op": op, **args})
        if not answer["ok"]:
            raise ValueError(answer["error"])


def main(argv: list[str] | None = None) -> int:
    """``python -m appliance.line.v253_sim``: run a simulated voice modem."""
    parser = argparse.ArgumentParser(prog="python -m appliance.line.v253_sim")
    parser.add_argument("--profile", default="cx93001", choices=sorted(PROFILES))
    parser.add_argument("--country", default="US")
    parser.add_argument("--link", help="keep a symlink to the pty here (stable across unplug/replug)")
    parser.add_argument("--control", help="Unix socket for control requests (JSON lines)")
    parser.add_argument("--dtmf-mode", default="both", choices=DTMF_MODES)
    parser.add_argument("--no-dle-l", action="store_true", help="never report <DLE>l")
    parser.add_argument("--request", help="send this JSON request to --control and print the answer")
    args = parser.parse_args(argv)
    if args.request:
        if not args.control:
            parser.error("--request needs --control")
        print(json.dumps(control_request(args.control, json.loads(args.request))))
        return 0
    logging.basicConfig(level=logging.INFO)
    sim = V253Simulator(
        args.profile,
        country=args.country,
        link=args.link,
        control=args.control,
        dtmf_mode=args.dtmf_mode,
        report_hangup=not args.no_dle_l,
    ).start()
    print(f"simulated {args.profile} voice modem on {sim.port}", flush=True)
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
