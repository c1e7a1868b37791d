"""The C code for aarch64 (the Raspberry Pi): builds warning-free with Debian's cross compiler,
and its test drivers run under qemu-user with output identical to the host build.

Drivers: tests/dsp/sanitize_driver.c (DTMF and call-progress detectors over adversarial audio),
tests/callerid/sanitize_fsk.c (the FSK receiver at every chunk size) and
tests/field/decode_driver.c (every event of a recording: recorded speech from Debian's
asterisk sounds, caller ID in Bell 202 and V.23, DTMF, busy tone).
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf, build_sdmf
from appliance.dsp.generator import tone
from appliance.dsp.testsignals import real_speech, sequence
from tests.helpers import REPO

NATIVE = REPO / "native"
HERE = Path(__file__).resolve().parent
CROSS = "aarch64-linux-gnu-gcc"
QEMU = "qemu-aarch64"
# the extension's flags (native/build_native.py) with every warning an error
FLAGS = ["-std=c11", "-O2", "-fno-strict-aliasing", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"]
SOURCES = sorted(NATIVE.glob("*.c"))

pytestmark = [
    pytest.mark.skipif(
        shutil.which(CROSS) is None or shutil.which(QEMU) is None or shutil.which("gcc") is None,
        reason="needs gcc, gcc-aarch64-linux-gnu and qemu-user (scripts/system-deps.sh installs them)",
    ),
    pytest.mark.timeout(1800),  # emulation is slow on a loaded machine
]


def _build(compiler: str, driver: Path, out: Path, extra: tuple[str, ...] = ()) -> Path:
    cmd = [compiler, *FLAGS, *extra, f"-I{NATIVE}", *map(str, SOURCES), str(driver), "-lm", "-o", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr  # warning-free, not merely accepted
    return out


def _both(tmp_path: Path, driver: Path, *args: str) -> tuple[str, str]:
    host = _build("gcc", driver, tmp_path / f"{driver.stem}-host")
    arm = _build(CROSS, driver, tmp_path / f"{driver.stem}-arm64", ("-static",))
    kind = subprocess.run(["file", str(arm)], capture_output=True, text=True).stdout
    assert "aarch64" in kind or "ARM aarch64" in kind or not kind, kind
    a = subprocess.run([str(host), *args], capture_output=True, text=True, timeout=600)
    b = subprocess.run([QEMU, str(arm), *args], capture_output=True, text=True, timeout=1200)
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    return a.stdout, b.stdout


def test_every_native_file_compiles_warning_free_for_aarch64(tmp_path: Path) -> None:
    for source in SOURCES:
        result = subprocess.run(
            [CROSS, *FLAGS, "-fPIC", f"-I{NATIVE}", "-c", str(source), "-o",
             str(tmp_path / f"{source.stem}.o")],
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0 and not result.stderr.strip(), f"{source.name}: {result.stderr}"


def test_detector_vectors_identical_under_emulation(tmp_path: Path) -> None:
    host, arm = _both(tmp_path, REPO / "tests" / "dsp" / "sanitize_driver.c")
    assert host.startswith("ok ") and host == arm


def _recording(path: Path) -> bytes:
    rate = 8000
    speech = real_speech(max_seconds=15) or b""
    pcm = b"".join([
        b"\0\0" * 4000,
        fsk_signal(build_mdmf(datetime="11221530", number="0401234567", name="ANNA VIRTANEN"), modulation="bell202"),
        b"\0\0" * 8000,
        fsk_signal(build_sdmf("11221531", "0509876543"), modulation="v23"),
        b"\0\0" * 4000,
        speech,
        sequence("159#", rate),
        b"".join(tone([425.0], [-15.0], 0.3, rate) + b"\0\0" * 2400 for _ in range(6)),
        b"\0\0" * 8000,
    ])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return pcm


def test_a_recording_decodes_identically_under_emulation(tmp_path: Path) -> None:
    wav_path = tmp_path / "line.wav"
    _recording(wav_path)
    with wave.open(str(wav_path), "rb") as w:  # the WAV's data, as written (little-endian)
        raw = w.readframes(w.getnframes())
    (tmp_path / "line.raw").write_bytes(raw)
    host, arm = _both(tmp_path, HERE / "decode_driver.c", "8000", str(tmp_path / "line.raw"))
    assert host == arm
    fsk = [ln for ln in host.splitlines() if ln.startswith("fsk ")]
    # both messages, each heard by both demodulators (the Python layer keeps one of each)
    assert len({ln.split("@")[0].split(maxsplit=2)[2] for ln in fsk}) == 2, host
    assert {ln.split()[1] for ln in fsk} == {"0", "1"}, host
    digits = "".join(ln.split()[2] for ln in host.splitlines() if ln.startswith("dtmf start"))
    assert digits.endswith("159#"), host
    assert sum(1 for ln in host.splitlines() if ln.startswith("tone set 0")) >= 3, host


def test_fsk_receiver_at_every_chunk_size_identical_under_emulation(tmp_path: Path) -> None:
    pcm = _recording(tmp_path / "line.wav")
    (tmp_path / "line.raw").write_bytes(pcm)  # sanitize_fsk.c freads int16: little-endian hosts only
    host, arm = _both(tmp_path, REPO / "tests" / "callerid" / "sanitize_fsk.c", "8000", str(tmp_path / "line.raw"))
    assert host.startswith("ok 4") and host == arm  # 2 messages x 2 demodulators
