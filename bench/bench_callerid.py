"""Caller-ID FSK receiver: speed (audio seconds per CPU second) and decode rates vs spandsp.

Run: ``.venv/bin/python bench/bench_callerid.py [--trials N]``. Prints markdown tables.
spandsp (``libspandsp``, Debian package ``libspandsp-dev``) is used through cffi ABI
mode when installed; it runs at 8 kHz only and is told the standard, whereas our
receiver runs Bell 202 and V.23 at once and must also name the standard right.
Noise is white Gaussian over the whole band: SNR = signal RMS / noise RMS.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.callerid_gen import fsk_signal
from appliance.dsp.cid_message import build_mdmf
from appliance.dsp.testsignals import add_noise, dbm0_rms

ROOT = Path(__file__).resolve().parents[1]
SPEED_SECONDS = 120
CHUNK_MS = 20
MSG = build_mdmf(number="0401234567", name="ANNA SMITH", datetime="11221530")


def _load_spandsp() -> ModuleType | None:
    path = ROOT / "tests" / "callerid" / "spandsp_abi.py"
    spec = importlib.util.spec_from_file_location("spandsp_abi", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module if module.AVAILABLE else None


def _speed_audio(rate: int) -> bytes:
    """Line noise at -50 dBm0 with a caller-ID burst (both standards) every 10 s."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, dbm0_rms(-50.0), SPEED_SECONDS * rate)
    for i, start in enumerate(range(rate, len(x) - 2 * rate, 10 * rate)):
        sig = np.frombuffer(fsk_signal(MSG, modulation=("bell202", "v23")[i % 2],
                                       sample_rate=rate), "<i2")
        x[start : start + len(sig)] += sig
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def _cpu(fn: object, *args: object) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        fn(*args)  # type: ignore[operator]
        best = min(best, time.process_time() - t0)
    return best


def speed(sp: ModuleType | None) -> None:
    print("## Speed: seconds of audio per CPU second (best of 3)\n")
    print("| receiver | 8 kHz | 16 kHz |")
    print("|---|---|---|")
    audio = {rate: _speed_audio(rate) for rate in (8000, 16000)}

    def ours_chunked(pcm: bytes, rate: int) -> None:
        rx = CallerIdReceiver(rate)
        step = 2 * rate * CHUNK_MS // 1000
        found = 0
        for i in range(0, len(pcm), step):
            found += len(rx.feed(pcm[i : i + step]))
        assert found == len(range(rate, SPEED_SECONDS * rate - 2 * rate, 10 * rate)), found

    def ours_block(pcm: bytes, rate: int) -> None:
        CallerIdReceiver(rate).feed(pcm)

    rows = [("ours, Bell 202 + V.23 at once, 20 ms chunks", ours_chunked),
            ("ours, Bell 202 + V.23 at once, one block", ours_block)]
    for label, fn in rows:
        cells = [f"{SPEED_SECONDS / _cpu(fn, audio[r], r):,.0f}x" for r in (8000, 16000)]
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    if sp is not None:
        pcm = audio[8000]

        def spandsp_run(standards: tuple[int, ...]) -> None:
            receivers = [sp.AdsiReceiver(s) for s in standards]
            step = 2 * 8000 * CHUNK_MS // 1000
            for i in range(0, len(pcm), step):
                for rx in receivers:
                    rx.feed(pcm[i : i + step])
            for rx in receivers:
                rx.close()

        for label, stds in (("spandsp adsi_rx CLASS (Bell 202 only), 20 ms", (sp.ADSI_STANDARD_CLASS,)),
                            ("spandsp adsi_rx CLIP (V.23 only), 20 ms", (sp.ADSI_STANDARD_CLIP,)),
                            ("spandsp adsi_rx CLASS + CLIP (both), 20 ms",
                             (sp.ADSI_STANDARD_CLASS, sp.ADSI_STANDARD_CLIP))):
            print(f"| {label} | {SPEED_SECONDS / _cpu(spandsp_run, stds):,.0f}x | n/a |")
    print()


def _ours_ok(pcm: bytes, rate: int, modulation: str) -> bool:
    got = [(m.raw, m.modulation) for m in CallerIdReceiver(rate).feed_messages(pcm)]
    return got == [(MSG, modulation)]


def _spandsp_ok(sp: ModuleType, pcm: bytes, modulation: str) -> bool:
    rx = sp.AdsiReceiver(sp.ADSI_STANDARD_CLASS if modulation == "bell202" else sp.ADSI_STANDARD_CLIP)
    rx.feed(pcm)
    rx.close()
    return bool(rx.messages == [MSG[:-1]])


def _trial_signals(modulation: str, rate: int, snr: float, level: float, offset: float,
                   trials: int) -> list[bytes]:
    out = []
    for seed in range(trials):
        rng = np.random.default_rng(seed)
        clean = fsk_signal(MSG, modulation=modulation, sample_rate=rate, level_dbm0=level,
                           freq_offset_hz=offset, phase=float(rng.uniform(0, 2 * np.pi)))
        pad_lead = bytes(2 * int(rng.integers(rate // 4, rate // 2)))
        pcm = pad_lead + clean + bytes(2 * rate // 4)
        out.append(add_noise(pcm, snr, dbm0_rms(level), 7919 * seed + 1))
    return out


def decode_rates(sp: ModuleType | None, trials: int) -> None:
    print(f"## Decode rate, % of {trials} MDMF messages (number + name + date)\n")
    print("| standard | SNR dB | level dBm0 | offset Hz | ours 8 kHz | spandsp 8 kHz | ours 16 kHz |")
    print("|---|---|---|---|---|---|---|")
    conditions = [(snr, -13.0, 0.0) for snr in (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 15.0, 20.0)]
    conditions += [(20.0, lvl, 0.0) for lvl in (-5.0, -20.0, -30.0, -35.0, -40.0, -45.0)]
    conditions += [(12.0, -13.0, off) for off in (-36.0, -12.0, 12.0, 36.0)]
    for modulation in ("bell202", "v23"):
        for snr, level, offset in conditions:
            s8 = _trial_signals(modulation, 8000, snr, level, offset, trials)
            ours8 = sum(_ours_ok(p, 8000, modulation) for p in s8)
            theirs = "n/a" if sp is None else f"{100 * sum(_spandsp_ok(sp, p, modulation) for p in s8) / trials:.0f}"
            s16 = _trial_signals(modulation, 16000, snr, level, offset, trials)
            ours16 = sum(_ours_ok(p, 16000, modulation) for p in s16)
            print(f"| {modulation} | {snr:g} | {level:g} | {offset:+g} | {100 * ours8 / trials:.0f} "
                  f"| {theirs} | {100 * ours16 / trials:.0f} |")
            sys.stdout.flush()
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=50, help="messages per condition")
    parser.add_argument("--no-rates", action="store_true", help="speed only")
    args = parser.parse_args()
    sp = _load_spandsp()
    if sp is None:
        print("(spandsp not installed: apt-get install libspandsp-dev; its columns are n/a)\n")
    speed(sp)
    if not args.no_rates:
        decode_rates(sp, args.trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
