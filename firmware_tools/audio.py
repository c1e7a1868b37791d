"""Prompt audio: espeak-ng + sox to 8 kHz telephone-band WAVs, conversion of recordings, level checks.

The layout and levels match the call flow's (appliance/calls/prompts.py): 8 kHz mono 16-bit,
band-limited to 300-3400 Hz, peak-normalised to PROMPT_LEVEL_DB.
"""

from __future__ import annotations

import array
import math
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

from appliance.errors import UsageError

RATE = 8000
PROMPT_LEVEL_DB = -16.0
MAX_SECONDS = 120.0
MIN_RMS_DB = -40.0  # quieter than this is silence or a broken recording
CLIP_SHARE = 0.001  # more than 0.1 % of samples at full scale: the source clipped
TIMEOUT_S = 60.0
VOICES = {"en": "en", "fi": "fi", "sv": "sv", "zh": "cmn", "et": "et", "ru": "ru", "de": "de"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise UsageError(f"{name} is not installed (apt-get install {name})")
    return path


def _sox_to_prompt(src: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part.wav")
    result = subprocess.run(
        [_tool("sox"), str(src), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(part),
         "sinc", "300-3400", "gain", "-n", str(PROMPT_LEVEL_DB)],
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    if result.returncode != 0:
        part.unlink(missing_ok=True)
        raise UsageError(f"sox cannot convert {src}: {result.stderr.strip().splitlines()[-1:] or ['?']}")
    part.replace(out)


def convert(src: Path, out: Path) -> None:
    """A recording in any format and rate sox reads (WAV, MP3) as a prompt at ``out``."""
    _sox_to_prompt(src, out)


def speak(text: str, lang: str, out: Path) -> None:
    """``text`` spoken by espeak-ng in ``lang`` into ``out`` as a prompt."""
    with tempfile.TemporaryDirectory(prefix="prompt-") as tmp:
        raw = Path(tmp) / "raw.wav"
        result = subprocess.run(
            [_tool("espeak-ng"), "-v", VOICES.get(lang, lang), "-s", "150", "-w", str(raw), "--", text],
            capture_output=True, text=True, timeout=TIMEOUT_S,
        )
        if result.returncode != 0 or not raw.exists():
            raise UsageError(f"espeak-ng cannot speak {lang!r}: {result.stderr.strip()}")
        _sox_to_prompt(raw, out)


def source_levels(path: Path) -> dict[str, Any]:
    """What sox says of a recording before conversion: rate, length, and whether it clipped."""
    if not path.is_file():
        raise UsageError(f"no file {path}")
    info = subprocess.run([_tool("soxi"), str(path)], capture_output=True, text=True, timeout=TIMEOUT_S)
    if info.returncode != 0:
        raise UsageError(f"{path} is not an audio file sox can read (WAV, MP3 with libsox-fmt-mp3)")
    stats = subprocess.run([_tool("sox"), str(path), "-n", "stats"], capture_output=True, text=True,
                           timeout=TIMEOUT_S).stderr
    rate = re.search(r"Sample Rate\s*:\s*(\d+)", info.stdout)
    seconds = re.search(r"Duration\s*:\s*(\d+):(\d+):([\d.]+)", info.stdout)
    clipped = re.search(r"Pk count\s+([\d.]+k?)", stats)
    peak = re.search(r"Pk lev dB\s+(-?[\d.]+|-inf)", stats)
    doc: dict[str, Any] = {"rate": int(rate.group(1)) if rate else None}
    if seconds:
        h, m, s = seconds.groups()
        doc["seconds"] = int(h) * 3600 + int(m) * 60 + float(s)
    doc["peak_db"] = float(peak.group(1)) if peak and peak.group(1) != "-inf" else None
    doc["clipped"] = bool(peak and peak.group(1) == "0.00" and clipped and clipped.group(1) not in ("1", "2"))
    return doc


def to_little_endian(pcm: bytes) -> bytes:
    """Native 16-bit samples as WAV wants them (a no-op on little-endian machines)."""
    if sys.byteorder == "little":
        return pcm
    samples = array.array("h", pcm)
    samples.byteswap()
    return samples.tobytes()


def check_levels(path: Path) -> dict[str, Any]:
    """A prompt's format and levels, and what is wrong with it (``ok`` False when anything is)."""
    problems: list[str] = []
    with wave.open(str(path), "rb") as w:
        rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        data = w.readframes(frames)
    if (rate, channels, width) != (RATE, 1, 2):
        problems.append(f"{rate} Hz, {channels} channel(s), {8 * width}-bit: a prompt is 8000 Hz mono 16-bit")
    samples = array.array("h", data[: len(data) & ~1])
    if sys.byteorder == "big":  # WAV samples are little-endian
        samples.byteswap()
    seconds = len(samples) / max(rate * channels, 1)
    peak = max((abs(x) for x in samples), default=0)
    rms = math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0
    peak_db = 20 * math.log10(peak / 32768) if peak else -120.0
    rms_db = 20 * math.log10(rms / 32768) if rms else -120.0
    clipped = sum(1 for x in samples if abs(x) >= 32767)
    if seconds > MAX_SECONDS:
        problems.append(f"{seconds:.0f} s long: a prompt is at most {MAX_SECONDS:.0f} s")
    if rms_db < MIN_RMS_DB:
        problems.append(f"too quiet (rms {rms_db:.1f} dBFS): silence or a broken recording")
    if samples and clipped / len(samples) > CLIP_SHARE:
        problems.append(f"{clipped} samples at full scale: clipped")
    if peak_db > PROMPT_LEVEL_DB + 1.5:
        problems.append(f"peak {peak_db:.1f} dBFS: louder than {PROMPT_LEVEL_DB:.0f} dBFS (not normalised)")
    return {"ok": not problems, "seconds": round(seconds, 3), "peak_db": round(peak_db, 2),
            "rms_db": round(rms_db, 2), "problems": problems}
