"""Line DSP benchmark: speed of each detector and of the whole chain, and talk-off.

Prints, at 8 and 16 kHz, seconds of audio processed per CPU second (one core) for the
DTMF receiver, the caller-ID receiver, the call-progress tone detector and the whole
chain (all three), and false DTMF digits per hour on the speech and music corpora:
recorded speech and music on hold from Debian's asterisk-core-sounds-*-wav and
asterisk-moh-opsound-wav when installed, espeak-ng speech and generated music always.

    .venv/bin/python bench/bench_dsp.py [--seconds 600] [--talkoff-hours 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.dsp.callerid import CallerIdReceiver
from appliance.dsp.chain import LineDsp
from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.testsignals import (
    espeak_corpus,
    pitch_shift,
    real_music,
    real_speech,
    synthetic_music,
    talkoff_variants,
)
from appliance.dsp.tones import ToneDetector

FEED_CHUNK_S = 0.02  # 20 ms chunks, as the daemon gets them from the line
DECODE_CHUNK_S = 2.0  # as `appliance dsp decode` reads a file
SHARED_DIR = Path("/work/shared")


def speed(make: Callable[[], Any], pcm: bytes, rate: int, chunk_s: float = FEED_CHUNK_S) -> float:
    """Seconds of audio per CPU second."""
    det = make()
    step = 2 * int(rate * chunk_s)
    start = time.process_time()
    for off in range(0, len(pcm), step):
        det.feed(pcm[off : off + step])
    det.flush()
    return len(pcm) / 2 / rate / (time.process_time() - start)


def false_digits(pcm: bytes) -> int:
    rx = DtmfReceiver(8000)
    return len(rx.feed(pcm) + rx.flush())


def upsample(pcm: bytes) -> bytes:
    return pitch_shift(pcm, 0.5)


def speech_text() -> str:
    texts = [p.read_text(errors="ignore") for p in sorted(SHARED_DIR.glob("*.md"))] if SHARED_DIR.is_dir() else []
    text = " ".join(texts) or ("The laboratory opens at eight. Please have your referral ready. " * 400)
    return "".join(ch if ch.isalnum() or ch in " .,;:!?" else " " for ch in text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="audio used for the speed figures")
    parser.add_argument("--talkoff-hours", type=float, default=0, help="limit each talk-off corpus (0: all)")
    args = parser.parse_args()

    speech = real_speech(args.seconds) or espeak_corpus(speech_text())[: int(args.seconds * 8000) * 2]
    print(f"speed corpus: {len(speech) / 16000:.0f} s of {'recorded' if real_speech(1) else 'espeak'} speech")
    print("seconds of audio per CPU second, one core; fed in 20 ms chunks (the daemon) and 2 s chunks (dsp decode)")
    print(f"{'detector':<28}{'8 kHz 20 ms':>14}{'16 kHz 20 ms':>14}{'8 kHz 2 s':>14}{'16 kHz 2 s':>14}")
    wide = upsample(speech)
    rows: list[tuple[str, Callable[[int], Any]]] = [
        ("DTMF receiver", DtmfReceiver),
        ("caller ID (Bell 202 + V.23)", CallerIdReceiver),
        ("call-progress tones", ToneDetector),
        ("whole chain", LineDsp),
    ]
    for name, make in rows:
        figures = [
            speed(partial(make, rate), pcm, rate, chunk)
            for chunk in (FEED_CHUNK_S, DECODE_CHUNK_S)
            for rate, pcm in ((8000, speech), (16000, wide))
        ]
        print(f"{name:<28}" + "".join(f"{f:>13.0f}x" for f in figures))

    print("\ntalk-off: false DTMF digits (as recorded, +12 dB clipped, pitch x1.15, pitch x0.87)")
    limit = int(args.talkoff_hours * 3600 * 8000) * 2 or None
    corpora = {
        "recorded speech (asterisk-core-sounds)": real_speech(),
        "espeak-ng speech": espeak_corpus(speech_text()),
        "music on hold (asterisk-moh-opsound)": real_music(),
        "generated music": synthetic_music(1800),
    }
    for name, full in corpora.items():
        if not full:
            print(f"{name:<40} not installed")
            continue
        pcm = full[:limit] if limit else full
        hours = 0.0
        found = 0
        for _, variant in talkoff_variants(pcm):
            hours += len(variant) / 2 / 8000 / 3600
            found += false_digits(variant)
        print(f"{name:<40}{hours:>7.2f} h {found:>5} false digits  {found / hours:>7.2f} per hour")
    return 0


if __name__ == "__main__":
    sys.exit(main())
