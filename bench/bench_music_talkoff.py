"""DTMF talk-off on recorded music: false digits per corpus, ours beside spandsp.

Every track of every installed corpus (``appliance/dsp/music_corpus.py``: Debian game
soundtracks, real recordings of several kinds) at each level and codec of
``music_corpus.VARIANTS``, into our DTMF receiver and spandsp's ``dtmf_rx`` (when
libspandsp is installed). Prints a markdown table and every false digit with its
track, variant and time, so that it can be listened to.

    .venv/bin/python bench/bench_music_talkoff.py [--corpus orchestral] [--no-spandsp] [--pitch]

``--pitch`` plays every track (at -10 dBm0) a semitone and a whole tone up and down
instead: the notes land elsewhere, so the same music tries other digit pairs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from appliance.dsp import music_corpus
from appliance.dsp.dtmf import DtmfReceiver
from appliance.dsp.testsignals import pitch_shift

RATE = 8000
SEMITONES = (-2, -1, 1, 2)
PITCH_VARIANTS = tuple(f"{k:+d} semitone{'s' if abs(k) > 1 else ''}" for k in SEMITONES)


def ours(pcm: bytes) -> list[tuple[str, float]]:
    rx = DtmfReceiver(RATE)
    return [(d.digit, d.start / RATE) for d in rx.feed(pcm) + rx.flush()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", action="append", help="only these corpora")
    parser.add_argument("--no-spandsp", action="store_true")
    parser.add_argument("--pitch", action="store_true", help="pitch-shifted variants instead")
    args = parser.parse_args()
    names = PITCH_VARIANTS if args.pitch else music_corpus.VARIANTS

    def variants(pcm: bytes) -> list[tuple[str, bytes]]:
        if not args.pitch:
            return list(music_corpus.variants(pcm))
        base = music_corpus.normalise(pcm)
        return [(name, pitch_shift(base, 2 ** (k / 12))) for name, k in zip(PITCH_VARIANTS, SEMITONES, strict=True)]

    spandsp = None
    if not args.no_spandsp:
        import spandsp_ref

        spandsp = spandsp_ref if spandsp_ref.available() else None
    corpora = [c for c in music_corpus.available() if not args.corpus or c.name in args.corpus]
    if not corpora:
        print("no music corpus installed (scripts/system-deps.sh installs them): nothing to measure")
        return 0
    rows = []
    started = time.monotonic()
    for corpus in corpora:
        seconds = 0.0
        found = {v: 0 for v in names}
        theirs = {v: 0 for v in names}
        n_tracks = 0
        for name, pcm in music_corpus.tracks(corpus):
            n_tracks += 1
            seconds += len(pcm) / 2 / RATE
            for variant, audio in variants(pcm):
                hits = ours(audio)
                found[variant] += len(hits)
                for digit, at in hits:
                    print(f"  ours: {corpus.name}/{name} [{variant}] '{digit}' at {at:.2f} s", flush=True)
                if spandsp is not None:
                    got = spandsp.digits(audio)
                    theirs[variant] += len(got)
                    if got:
                        print(f"  spandsp: {corpus.name}/{name} [{variant}] '{got}'", flush=True)
        rows.append((corpus, n_tracks, seconds, found, theirs))
        print(f"{corpus.name}: {n_tracks} tracks, {seconds / 3600:.2f} h, ours {sum(found.values())}, "
              f"spandsp {sum(theirs.values()) if spandsp else 'n/a'} "
              f"({time.monotonic() - started:.0f} s so far)", flush=True)

    print()
    print("| corpus (package) | kind | tracks | hours | variants | ours | spandsp |")
    print("|---|---|---|---|---|---|---|")
    total_h = total_ours = total_theirs = 0.0
    for corpus, n_tracks, seconds, found, theirs in rows:
        hours = seconds / 3600
        total_h += hours * len(names)
        total_ours += sum(found.values())
        total_theirs += sum(theirs.values())
        detail = ", ".join(f"{v}: {n}" for v, n in found.items() if n) or "0"
        detail_sp = ", ".join(f"{v}: {n}" for v, n in theirs.items() if n) or "0"
        print(f"| {corpus.name} (`{corpus.package}`) | {corpus.kind} | {n_tracks} | {hours:.2f} "
              f"| {len(names)} | {detail} | {detail_sp if spandsp else 'n/a'} |")
    print(f"| all | | | | {total_h:.1f} h played | {total_ours:.0f} "
          f"| {total_theirs:.0f} |" if spandsp else f"| all | | | | {total_h:.1f} h | {total_ours:.0f} | n/a |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
