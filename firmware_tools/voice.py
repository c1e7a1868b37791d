"""A V.253 voice modem driven directly (technicians' tools only; the daemon has its own driver).

Enough of ITU-T V.253 for the line self-test and ``capture``: voice mode (``AT+FCLASS=8``),
a sample format chosen from ``AT+VSM=?`` (8 kHz: 8-bit linear unsigned, G.711 mu-law or
A-law, 16-bit linear), off-hook (``AT+VLS=1``), receive (``AT+VRX``, audio with DLE
shielding: DLE DLE is a data 0x10, DLE + a letter is an event, DLE ETX ends), stop
(DLE ``!``) and on-hook (``AT+VLS=0``, ``ATH``). Blocking pyserial: run it in a thread.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass

import serial

from appliance.codecs.g711 import alaw_decode, ulaw_decode
from appliance.errors import DeviceError

DLE, ETX = 0x10, 0x03
RATE = 8000
# V.253 compression method names, lower-case substrings, to our decoder (preferred first)
FORMATS = (("ulaw", "ulaw"), ("mu-law", "ulaw"), ("g711u", "ulaw"), ("alaw", "alaw"), ("a-law", "alaw"),
           ("g711a", "alaw"), ("16-bit linear", "pcm16"), ("16 bit linear", "pcm16"),
           ("8-bit linear", "pcm8"), ("8 bit linear", "pcm8"), ("linear", "pcm8"))
_VSM = re.compile(r"(\d+)\s*,\s*\"([^\"]*)\"")


@dataclass
class VoiceFormat:
    code: int
    name: str
    kind: str  # ulaw, alaw, pcm16, pcm8

    def to_pcm16(self, data: bytes) -> bytes:
        if self.kind == "ulaw":
            return ulaw_decode(data)
        if self.kind == "alaw":
            return alaw_decode(data)
        if self.kind == "pcm16":
            return data[: len(data) & ~1]
        return b"".join(((b - 128) << 8).to_bytes(2, "little", signed=True) for b in data)


def choose_format(vsm_answer: str) -> VoiceFormat | None:
    """The best 8 kHz format from an ``AT+VSM=?`` answer (``+VSM: 130,"ULAW",8,0,(8000),...``)."""
    offered = [(int(code), name) for code, name in _VSM.findall(vsm_answer)]
    for needle, kind in FORMATS:
        for code, name in offered:
            if needle in name.lower():
                return VoiceFormat(code, name, kind)
    return None


class VoiceModem:
    def __init__(self, port: str, baudrate: int = 115200, timeout: float = 2.0) -> None:
        try:
            self.ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.1)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"cannot open {port}: {err}") from err
        self.timeout = timeout

    def close(self) -> None:
        self.ser.close()

    def command(self, cmd: str, timeout: float | None = None, final: tuple[str, ...] = ("OK",)) -> list[str]:
        """Send one AT command; its lines up to the final result (raises on ERROR)."""
        self.ser.reset_input_buffer()
        self.ser.write(cmd.encode() + b"\r")
        end = time.monotonic() + (timeout or self.timeout)
        buf = b""
        lines: list[str] = []
        while time.monotonic() < end:
            buf += self.ser.read(256)
            while b"\n" in buf or b"\r" in buf:
                line, _, buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n").partition(b"\n")
                text = line.decode("ascii", "replace").strip()
                if not text or text == cmd:
                    continue
                if text in final:
                    return lines
                if text == "ERROR" or text.startswith(("+CME ERROR", "NO CARRIER")):
                    raise DeviceError(f"{cmd}: {text}")
                lines.append(text)
        raise DeviceError(f"{cmd}: no answer in {timeout or self.timeout} s")

    def receive(self, seconds: float, fmt: VoiceFormat) -> tuple[bytes, list[str]]:
        """Off-hook must already be done: ``seconds`` of audio as 16-bit PCM, and the DLE events."""
        self.command("AT+VRX", final=("CONNECT",))
        raw = bytearray()
        events: list[str] = []
        end = time.monotonic() + seconds
        escape = False
        while time.monotonic() < end:
            for b in self.ser.read(4096):
                if escape:
                    escape = False
                    if b == DLE:
                        raw.append(DLE)
                    elif b == ETX:
                        end = 0
                    else:
                        events.append(chr(b))
                elif b == DLE:
                    escape = True
                else:
                    raw.append(b)
        self.ser.write(bytes([DLE, ord("!")]))  # stop receiving
        time.sleep(0.2)
        self.ser.reset_input_buffer()
        return fmt.to_pcm16(bytes(raw)), events

    def hang_up(self) -> None:
        for cmd in ("AT+VLS=0", "ATH"):
            with contextlib.suppress(DeviceError):
                self.command(cmd)


def open_voice(port: str, baudrate: int) -> tuple[VoiceModem, VoiceFormat]:
    modem = VoiceModem(port, baudrate)
    try:
        modem.command("ATE0")
        modem.command("AT+FCLASS=8")
        fmt = choose_format(" ".join(modem.command("AT+VSM=?")))
        if fmt is None:
            raise DeviceError(f"{port}: no 8 kHz sample format this tool can read in AT+VSM=?")
        modem.command(f"AT+VSM={fmt.code},{RATE}")
        return modem, fmt
    except BaseException:
        modem.close()
        raise
