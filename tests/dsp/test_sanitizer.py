"""The DSP C code built with -fsanitize=address,undefined and run on adversarial audio.

A standalone driver (sanitize_driver.c) feeds silence, full-scale noise, clipping, DC,
sweeps and DTMF in chunks from 0 samples to the whole stream to the DTMF and tone
detectors at 8 and 16 kHz. Any sanitizer report aborts it, which fails this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "native"
HERE = Path(__file__).resolve().parent
FLAGS = [
    "-std=c11",
    "-g",
    "-O1",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-Wall",
    "-Wextra",
    "-Werror",
]
BUILD_TIMEOUT_S = 180
RUN_TIMEOUT_S = 300
SANITIZER_ENV = {
    "ASAN_OPTIONS": "abort_on_error=0:halt_on_error=1:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the sanitized driver")


def _build(tmp_path: Path, sources: list[Path], name: str) -> Path:
    exe = tmp_path / name
    cmd = ["gcc", *FLAGS, f"-I{NATIVE}", *map(str, sources), "-lm", "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=BUILD_TIMEOUT_S)
    return exe


def _run(exe: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SANITIZER_ENV}
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env)


def test_sanitizers_catch_a_planted_bug(tmp_path: Path) -> None:
    """The harness itself can fail: an out-of-bounds write is reported."""
    bad = tmp_path / "bad.c"
    bad.write_text(
        "#include <stdlib.h>\nint main(void){int *a=malloc(4*sizeof(int));"
        "volatile int i=4; a[i]=1; free(a); return 0;}\n"
    )
    result = _run(_build(tmp_path, [bad], "bad"))
    assert result.returncode != 0
    assert "AddressSanitizer" in result.stderr or "runtime error" in result.stderr


def test_detectors_under_address_and_undefined_sanitizers(tmp_path: Path) -> None:
    sources = [HERE / "sanitize_driver.c", NATIVE / "dtmf.c", NATIVE / "progress.c", NATIVE / "tonegen.c"]
    result = _run(_build(tmp_path, sources, "driver"))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "runtime error" not in result.stderr
    assert "AddressSanitizer" not in result.stderr
    assert result.stdout.startswith("ok ")
