"""AT framing: bytes from the modem to lines and ``> `` prompts. Pure, no I/O.

Modems end lines with ``\\r\\n`` (sometimes ``\\r`` alone, e.g. an echoed
command); the SMS input prompt is ``\\r\\n> `` with *no* line end after it, so
it is recognised from a partial line while the protocol says a prompt is
expected. Line length is bounded: an overlong line (garbage, a runaway modem)
is dropped with a count, never kept growing. NUL and other control bytes are
removed; bytes that are not UTF-8 become U+FFFD.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

# The longest sane line: a +CMGL PDU line is at most ~2 * (12 + 176) hex digits; 4 KiB leaves
# room for vendor chatter while bounding memory against a port spewing bytes without line ends.
MAX_LINE_BYTES = 4096
CTRL_Z = b"\x1a"
ESC = b"\x1b"
_STRIP = bytes(c for c in range(32) if c not in (9,)) + b"\x7f"


@dataclass(frozen=True)
class Line:
    text: str


@dataclass(frozen=True)
class Prompt:
    """The ``> `` that asks for the PDU after ``AT+CMGS=<n>``."""


Frame = Line | Prompt


class AtFramer:
    """Split a byte stream into :class:`Line` and :class:`Prompt` frames.

    Usage: ``frames = framer.feed(data)``; set ``expect_prompt`` while waiting for ``> ``.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self.expect_prompt = False
        self.dropped_lines = 0
        self._buf = bytearray()
        self._discarding = False  # inside an overlong line: skip to its end

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._discarding:
                    self._discarding = False
                    continue
                if self._buf:
                    text = self._decode(bytes(self._buf))
                    self._buf.clear()
                    if text:
                        frames.append(Line(text))
                continue
            if self._discarding:
                continue
            if byte in (0, 0x1A):
                continue  # NUL padding; an echoed Ctrl-Z
            self._buf.append(byte)
            if len(self._buf) > self.max_line:
                self.dropped_lines += 1
                log.warning("modem sent a line over %d bytes; dropped", self.max_line)
                self._buf.clear()
                self._discarding = True
                continue
            if self.expect_prompt and self._buf.lstrip(b" ") in (b"> ", b">"):
                # ">" alone: some firmwares omit the space; accept at once, the space (if it
                # comes) is stripped from the next line.
                self._buf.clear()
                self.expect_prompt = False
                frames.append(Prompt())
        return frames

    @property
    def pending(self) -> bytes:
        """Bytes of a line not yet ended (for diagnostics)."""
        return bytes(self._buf)

    @staticmethod
    def _decode(raw: bytes) -> str:
        text = raw.decode("utf-8", errors="replace")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            text = "".join(ch for ch in text if (ord(ch) >= 32 and ord(ch) != 127) or ch == "\t")
        return text.strip()
