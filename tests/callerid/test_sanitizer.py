"""native/fsk.c built with -fsanitize=address,undefined and run on hostile audio.

The driver (sanitize_fsk.c) feeds a PCM file (caller-ID bursts, noise, full-scale
square waves, clipping, DC steps, random bytes) in every chunk size, at 8 and 16 kHz.
Any sanitizer report aborts it, which fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf, frame

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "native"
HERE = Path(__file__).resolve().parent
FLAGS = ["-std=c11", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-Werror"]
BUILD_TIMEOUT_S = 180
RUN_TIMEOUT_S = 300
SANITIZER_ENV = {"ASAN_OPTIONS": "halt_on_error=1:detect_leaks=1",
                 "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the driver")


def _corpus(rate: int) -> tuple[bytes, int]:
    """Hostile audio with a known number of good messages in it."""
    rng = np.random.default_rng(rate)
    parts: list[np.ndarray] = []
    good = 0
    for i, modulation in enumerate(("bell202", "v23", "bell202", "v23")):
        raw = build_mdmf(number=f"04012345{i}", name="ANNA", datetime="11221530")
        parts.append(np.frombuffer(fsk_signal(raw, modulation=modulation, sample_rate=rate,
                                              level_dbm0=[-5, -40, 10, -20][i]), "<i2"))
        parts.append(np.zeros(rate // 4, dtype="<i2"))
        good += 1
    longest = frame(0x80, bytes([7, 253]) + b"N" * 253)
    parts.append(np.frombuffer(fsk_signal(longest, modulation="v23", sample_rate=rate), "<i2"))
    good += 1
    t = np.arange(2 * rate)
    for x in (rng.normal(0, 8000, 2 * rate), np.where((t // 3) % 2, 32767, -32768),
              np.where(t > rate, 32767, -32768), rng.integers(-32768, 32768, 2 * rate)):
        parts.append(np.clip(x, -32768, 32767).astype("<i2"))
    junk = bytes(rng.integers(0, 256, 300, dtype=np.uint8))
    parts.append(np.frombuffer(fsk_signal(junk, sample_rate=rate, seizure_bits=0, mark_bits=12),
                               "<i2"))
    return np.concatenate(parts).astype("<i2").tobytes(), good


def _driver(tmp_path: Path, name: str, extra: list[str]) -> Path:
    exe = tmp_path / name
    subprocess.run(["gcc", *FLAGS, *extra, f"-I{NATIVE}", str(HERE / "sanitize_fsk.c"),
                    str(NATIVE / "fsk.c"), "-lm", "-o", str(exe)],
                   check=True, capture_output=True, timeout=BUILD_TIMEOUT_S)
    return exe


def _drive(exe: Path, rate: int, audio: Path) -> str:
    result = subprocess.run([str(exe), str(rate), str(audio)], capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, env={**os.environ, **SANITIZER_ENV})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "runtime error" not in result.stderr and "AddressSanitizer" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("rate", [8000, 16000])
def test_fsk_receiver_under_sanitizers(tmp_path: Path, rate: int) -> None:
    pcm, good = _corpus(rate)
    audio = tmp_path / "corpus.raw"
    audio.write_bytes(pcm)
    out = _drive(_driver(tmp_path, "sanitize_fsk", []), rate, audio)
    # every good message, from one demodulator or both (the receiver de-duplicates)
    found = int(out.split()[1])
    assert good <= found <= 2 * good + 1, out
    # the bit-mask path for idle blocks gives what the per-sample path gives
    slow = _drive(_driver(tmp_path, "per_sample", ["-DFSK_NO_IDLE_PATH"]), rate, audio)
    assert out == slow
