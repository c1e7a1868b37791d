"""Prompts as 8 kHz 16-bit PCM: recorded WAVs, else espeak-ng speech, else tones.

Where a prompt comes from, first found wins:

1. a recorded file ``<menu.prompts_dir>/<lang>/<name>.wav`` (a site's own voice;
   any WAV :mod:`appliance.dsp.wav` reads: PCM or G.711, 8 or 16 kHz, resampled);
2. speech built by espeak-ng + sox from the menu's text (else the default texts)
   into ``<data dir>/prompts/<hash>.wav`` once, at first start (``build_all``) or
   the first time a run-time text (a survey question) is spoken;
3. a short two-note chime (no DTMF pair, no call-progress frequency) and one
   warning log line, when espeak-ng or sox is missing: the menu still works,
   never a crash.

All prompts are cached in memory (bounded by ``MEMORY_CACHE_ENTRIES``).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from appliance.calls.default_menu import FLOW_TEXTS, VOICES
from appliance.calls.menu import MenuConfig
from appliance.dsp import wav
from appliance.errors import DecodeError

log = logging.getLogger(__name__)

RATE = 8000
TTS_TIMEOUT_S = 30.0
MEMORY_CACHE_ENTRIES = 256
MAX_PROMPT_SECONDS = 120  # a recorded prompt longer than this is cut (a wrong file, not a prompt)
PROMPT_LEVEL_DB = -16  # peak-normalised speech level: well under the DSP's clipping, loud on a line
# chime notes (Hz): not DTMF row/column frequencies, not 350/425/440/480/620 call-progress tones
CHIME_NOTES = (523.0, 784.0)


def tone_pcm(freq: float, seconds: float, level: float = 0.25, rate: int = RATE) -> bytes:
    """A sine with 10 ms raised-cosine edges (no clicks: clicks are broadband)."""
    n = int(seconds * rate)
    ramp = max(1, int(0.010 * rate))
    out = bytearray()
    for i in range(n):
        env = 1.0
        if i < ramp:
            env = 0.5 - 0.5 * math.cos(math.pi * i / ramp)
        elif i >= n - ramp:
            env = 0.5 - 0.5 * math.cos(math.pi * (n - i) / ramp)
        out += struct.pack("<h", int(32767 * level * env * math.sin(2 * math.pi * freq * i / rate)))
    return bytes(out)


def silence(seconds: float, rate: int = RATE) -> bytes:
    return b"\0\0" * int(seconds * rate)


def chime() -> bytes:
    """The fallback prompt: two notes and a pause."""
    return tone_pcm(CHIME_NOTES[0], 0.15) + silence(0.05) + tone_pcm(CHIME_NOTES[1], 0.2) + silence(0.3)


def beep() -> bytes:
    """The "speak after the tone" beep (1000 Hz is no DTMF or call-progress frequency)."""
    return silence(0.2) + tone_pcm(1000.0, 0.35) + silence(0.1)


def _resample16(pcm: bytes, rate: int) -> bytes:
    """16 kHz -> 8 kHz by a 2-tap average then decimation (recorded prompts only)."""
    if rate == RATE:
        return pcm
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) & ~1])
    out = [(samples[i] + samples[i + 1]) // 2 for i in range(0, len(samples) - 1, 2)]
    return struct.pack(f"<{len(out)}h", *out)


class Tts:
    """espeak-ng + sox to 8 kHz telephone-band WAVs; ``available`` is False when either is missing."""

    def __init__(self, espeak: str | None = None, sox: str | None = None) -> None:
        self.espeak = espeak if espeak is not None else shutil.which("espeak-ng")
        self.sox = sox if sox is not None else shutil.which("sox")

    @property
    def available(self) -> bool:
        return bool(self.espeak and self.sox)

    def synth(self, text: str, lang: str, out: Path) -> None:
        """Speak ``text`` into ``out`` (8 kHz mono 16-bit); raises OSError/CalledProcessError on failure."""
        assert self.espeak and self.sox
        voice = VOICES.get(lang, lang)
        with tempfile.TemporaryDirectory(prefix="tts-") as tmp:
            raw = Path(tmp) / "raw.wav"
            subprocess.run([self.espeak, "-v", voice, "-s", "150", "-w", str(raw), "--", text],
                           check=True, capture_output=True, timeout=TTS_TIMEOUT_S)
            part = out.with_name(f"{out.stem}.{os.getpid()}-{threading.get_ident()}.part.wav")  # two builders
            # telephone band 300-3400 Hz, peak-normalised: what a line carries, and nothing the DSP mishears
            subprocess.run([self.sox, str(raw), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                            str(part), "sinc", "300-3400", "gain", "-n", str(PROMPT_LEVEL_DB)],
                           check=True, capture_output=True, timeout=TTS_TIMEOUT_S)
            part.replace(out)


class PromptLibrary:
    """Every prompt of a menu in every language, as PCM (see the module docstring)."""

    def __init__(self, menu: MenuConfig, cache_dir: Path, tts: Tts | None = None) -> None:
        self.menu = menu
        self.cache_dir = cache_dir
        self.tts = tts if tts is not None else Tts()
        self._mem: collections.OrderedDict[tuple[str, str], bytes] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._warned = False
        self.fallbacks = 0  # prompts served as the chime

    def text_of(self, name: str, lang: str) -> str | None:
        """The text a prompt speaks: the menu's, else the default flow texts (lang, then en)."""
        for table in (self.menu.texts.get(lang, {}), FLOW_TEXTS.get(lang, {}), FLOW_TEXTS["en"]):
            if name in table:
                return table[name]
        return None

    def recorded(self, name: str, lang: str) -> Path | None:
        if self.menu.prompts_dir is None:
            return None
        p = self.menu.prompts_dir / lang / f"{name}.wav"
        return p if p.is_file() else None

    def cache_path(self, text: str, lang: str) -> Path:
        key = hashlib.sha256(f"{lang}\0{VOICES.get(lang, lang)}\0{PROMPT_LEVEL_DB}\0{text}".encode()).hexdigest()
        return self.cache_dir / f"{lang}-{key[:20]}.wav"

    def pcm(self, name: str, lang: str, **fmt: object) -> bytes:
        """The prompt ``name`` in ``lang``; ``fmt`` fills ``{placeholders}`` of its text."""
        mkey = (name + repr(sorted(fmt.items())), lang)
        with self._lock:
            if mkey in self._mem:
                self._mem.move_to_end(mkey)
                return self._mem[mkey]
        data = self._load(name, lang, fmt)
        with self._lock:
            self._mem[mkey] = data
            while len(self._mem) > MEMORY_CACHE_ENTRIES:
                self._mem.popitem(last=False)
        return data

    def is_cached(self, text: str, lang: str) -> bool:
        """True when ``text`` is already spoken on disk (say() is then a quick read)."""
        return self.cache_path(text, lang).is_file()

    def say(self, text: str, lang: str) -> bytes:
        """Any text at run time (a survey question), cached per text and language."""
        return self._speak(text, lang) or self._fallback(f"text in {lang}")

    def _load(self, name: str, lang: str, fmt: dict[str, object]) -> bytes:
        rec = None if fmt else self.recorded(name, lang)
        if rec is not None:
            try:
                pcm, rate = wav.read_pcm(rec)
                return _resample16(pcm, rate)[: MAX_PROMPT_SECONDS * RATE * 2]
            except (DecodeError, OSError) as err:
                log.warning("prompt %s: recorded file %s unusable (%s); using speech", name, rec, err)
        text = self.text_of(name, lang)
        if text is None:
            return self._fallback(f"prompt {name!r} has no text")
        if fmt:
            text = text.format(**fmt)
        return self._speak(text, lang) or self._fallback(name)

    def _speak(self, text: str, lang: str) -> bytes | None:
        path = self.cache_path(text, lang)
        if not path.is_file():
            if not self.tts.available:
                return None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.tts.synth(text, lang, path)
            except (OSError, subprocess.SubprocessError) as err:
                log.warning("prompt speech in %s failed (%s); playing a chime instead", lang, err)
                return None
        try:
            pcm, rate = wav.read_pcm(path)
        except (DecodeError, OSError) as err:
            log.warning("cached prompt %s unusable (%s); rebuilding next time", path, err)
            path.unlink(missing_ok=True)
            return None
        return _resample16(pcm, rate)

    def _fallback(self, what: str) -> bytes:
        self.fallbacks += 1
        if not self._warned:
            self._warned = True
            log.warning(
                "voice prompts: %s; espeak-ng %s, sox %s: callers hear chimes instead of speech "
                "(install espeak-ng and sox, or record the prompts: docs/MENU.md)",
                what, "found" if self.tts.espeak else "missing", "found" if self.tts.sox else "missing",
            )
        return chime()

    def all_names(self) -> set[str]:
        return self.menu.prompt_names() | set(FLOW_TEXTS["en"]) - {"scale_hint", "question"}

    def build_all(self, stop: threading.Event | None = None) -> dict[str, int]:
        """Build every prompt of every language now (first start); returns counts by source.
        ``stop`` set (daemon shutdown) ends the build between two prompts."""
        counts = {"recorded": 0, "speech": 0, "chime": 0}
        for lang in self.menu.languages:
            for name in sorted(self.all_names()):
                if stop is not None and stop.is_set():
                    return counts
                before = self.fallbacks
                self.pcm(name, lang)
                if self.recorded(name, lang):
                    counts["recorded"] += 1
                elif self.fallbacks > before:
                    counts["chime"] += 1
                else:
                    counts["speech"] += 1
        return counts


def hold_audio(directory: str, library: PromptLibrary, lang: str, max_files: int = 50) -> list[bytes]:
    """The health-education audio for callers waiting for the desk: the WAVs of ``directory``
    (sorted; unreadable ones skipped with a log line), else the built-in spoken ``hold`` text."""
    clips: list[bytes] = []
    if directory:
        d = Path(directory)
        files = sorted(d.glob("*.wav"))[:max_files] if d.is_dir() else []
        if not files:
            log.warning("line.hold_audio_dir %s has no WAV files; using the built-in message", directory)
        for f in files:
            try:
                pcm, rate = wav.read_pcm(f)
                clips.append(_resample16(pcm, rate)[: MAX_PROMPT_SECONDS * RATE * 2 * 5])
            except (DecodeError, OSError) as err:
                log.warning("hold audio %s unusable (%s); skipped", f, err)
    if not clips:
        clips.append(library.pcm("hold", lang) + silence(1.0) + chime() + silence(2.0))
    return clips
