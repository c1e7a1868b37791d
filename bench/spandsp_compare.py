"""Our line DSP against spandsp on the same audio, side by side (needs libspandsp-dev).

1. The Q.24 matrix (appliance.dsp.testsignals.q24_matrix) at 8 kHz: digits found per
   row, ours and spandsp's dtmf_rx; a summary per group and class.
2. Talk-off: false digits on recorded speech and music on hold (asterisk sound
   packages, when installed), espeak-ng speech and generated music, each as recorded,
   +12 dB clipped, and pitched up and down.
3. Speed, one core: DTMF alone and the whole chain (ours: DTMF + caller ID + tones;
   spandsp: dtmf_rx + adsi_rx CLASS + adsi_rx CLIP + super_tone_rx), audio fed in 2 s
   chunks as `appliance dsp decode` does.

    .venv/bin/python bench/spandsp_compare.py [--rows] [--seconds 300] [--talkoff-hours 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import spandsp_ref
from bench_dsp import speech_text

from appliance.dsp.chain import LineDsp
from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.testsignals import (
    espeak_corpus,
    q24_matrix,
    real_music,
    real_speech,
    score,
    synthetic_music,
    talkoff_variants,
)

CHUNK_S = 2.0


def ours(pcm: bytes, rate: int = 8000) -> str:
    rx = DtmfReceiver(rate)
    return "".join(d.digit for d in rx.feed(pcm) + rx.flush())


def matrix(show_rows: bool) -> None:
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    if show_rows:
        print(f"{'group':<13}{'condition':<24}{'must':<8}{'ours':>10}{'spandsp':>10}")
    for case in q24_matrix(8000):
        got_o, got_s = ours(case.pcm), spandsp_ref.digits(case.pcm)
        fo, xo = score(case.digits, got_o)
        fs, xs = score(case.digits, got_s)
        t = totals[(case.group, case.must)]
        if case.must == "reject":
            t[0] += len(got_o)
            t[1] += len(got_s)
        else:
            t[0] += fo
            t[1] += fs
            t[2] += xo
            t[3] += xs
        t.append(len(case.digits))
        if show_rows:
            n = len(case.digits)
            print(f"{case.group:<13}{case.label:<24}{case.must:<8}{fo:>4}/{n:<3}+{xo:<2}{fs:>4}/{n:<3}+{xs:<2}")
    print("\nQ.24 matrix summary at 8 kHz (reject rows: digits wrongly found; others: digits found, extras)")
    print(f"{'group':<14}{'class':<8}{'digits':>7}{'ours':>12}{'spandsp':>12}")
    for (group, must), t in totals.items():
        n = sum(t[4:])
        if must == "reject":
            print(f"{group:<14}{must:<8}{n:>7}{t[0]:>12}{t[1]:>12}")
        else:
            print(f"{group:<14}{must:<8}{n:>7}{t[0]:>7} +{t[2]:<3}{t[1]:>7} +{t[3]:<3}")


def talkoff(hours: float) -> None:
    limit = int(hours * 3600 * 8000) * 2 or None
    corpora = {
        "recorded speech": real_speech(),
        "espeak-ng speech": espeak_corpus(speech_text()),
        "music on hold": real_music(),
        "generated music": synthetic_music(1800),
    }
    print("\ntalk-off: false digits (as recorded + 12 dB clipped + pitch x1.15 + pitch x0.87)")
    print(f"{'corpus':<20}{'hours':>8}{'ours':>8}{'spandsp':>9}")
    for name, full in corpora.items():
        if not full:
            print(f"{name:<20} not installed")
            continue
        pcm = full[:limit] if limit else full
        h = o = s = 0.0
        for _, v in talkoff_variants(pcm):
            h += len(v) / 16000 / 3600
            o += len(ours(v))
            s += spandsp_ref.run_raw(v)
        print(f"{name:<20}{h:>8.2f}{o:>8.0f}{s:>9.0f}")


def _cpu(fn: object, *args: object) -> float:
    start = time.process_time()
    fn(*args)  # type: ignore[operator]
    return time.process_time() - start


def _ours_chain(pcm: bytes) -> None:
    dsp = LineDsp(8000)
    step = int(CHUNK_S * 8000) * 2
    for off in range(0, len(pcm), step):
        dsp.feed(pcm[off : off + step])
    dsp.flush()


def _ours_dtmf(pcm: bytes) -> None:
    rx = DtmfReceiver(8000)
    step = int(CHUNK_S * 8000) * 2
    for off in range(0, len(pcm), step):
        rx.feed(pcm[off : off + step])
    rx.flush()


def speed(seconds: float) -> None:
    pcm = real_speech(seconds) or espeak_corpus(speech_text())[: int(seconds * 8000) * 2]
    dur = len(pcm) / 16000
    print(f"\nspeed on {dur:.0f} s of speech at 8 kHz (seconds of audio per CPU second, one core)")
    print(f"{'':<14}{'ours':>10}{'spandsp':>10}{'ratio':>8}")
    for name, fo, fs in (
        ("DTMF", _ours_dtmf, lambda p: spandsp_ref.run_raw(p, int(CHUNK_S * 8000))),
        ("whole chain", _ours_chain, lambda p: spandsp_ref.run_chain(p, int(CHUNK_S * 8000))),
    ):
        o, s = dur / _cpu(fo, pcm), dur / _cpu(fs, pcm)
        print(f"{name:<14}{o:>9.0f}x{s:>9.0f}x{o / s:>7.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print every matrix row")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--talkoff-hours", type=float, default=0, help="limit each corpus (0: all)")
    args = parser.parse_args()
    if not spandsp_ref.available():
        print("libspandsp is not installed: apt-get install libspandsp-dev", file=sys.stderr)
        return 1
    matrix(args.rows)
    talkoff(args.talkoff_hours)
    speed(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
