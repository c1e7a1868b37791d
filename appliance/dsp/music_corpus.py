"""Recorded music for DTMF talk-off: real recordings from Debian packages, at 8 kHz.

Music is what the line plays to callers who wait, so the DTMF receiver must stay silent
on it. The corpora are the soundtracks of Debian game packages (real recordings of
several kinds, installed by ``scripts/system-deps.sh`` for the tests):

============== ========================== ===============================================
corpus         package                    what it is
============== ========================== ===============================================
orchestral     wesnoth-1.16-music         orchestral scores, several with choir
                                          (``nunc_dimittis``, ``revelation``, ...)
electronic     singularity-music          electronic / ambient with synth and piano
rock           nexuiz-music               electronic rock and metal (guitars, drums)
soundtrack     warzone2100-music          electronic, rock and orchestral (Opus)
chamber        hyperrogue-music           chamber, piano and ambient miniatures
adventure      drascula-music             an adventure game's instrumental score
============== ========================== ===============================================

Each track is decoded with sox (Opus with opusdec first) to 8 kHz mono 16-bit, once,
and cached under :data:`CACHE_DIR`. :func:`variants` gives the levels and codecs a
track is judged at: normalised to -10 dBm0, 6 and 12 dB hot (clipping), 20 dB quiet,
and through G.711 mu-law and A-law.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from appliance.codecs.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from appliance.dsp.testsignals import CACHE_DIR, dbm0_rms, gain

RATE = 8000
NOMINAL_DBM0 = -10.0
DECODE_TIMEOUT_S = 300
MIN_TRACK_S = 10


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    root: Path
    pattern: str  # glob under root; "*.pk3" members are read from the zip
    kind: str


CORPORA = (
    Corpus("orchestral", "wesnoth-1.16-music", Path("/usr/share/games/wesnoth/1.16/data/core/music"),
           "*.ogg", "orchestral, several with choir"),
    Corpus("electronic", "singularity-music", Path("/usr/share/games/singularity/music"),
           "**/*.ogg", "electronic / ambient"),
    Corpus("rock", "nexuiz-music", Path("/usr/share/games/nexuiz/data"), "music.pk3",
           "electronic rock and metal"),
    Corpus("soundtrack", "warzone2100-music", Path("/usr/share/games/warzone2100/music"),
           "**/*.opus", "electronic, rock, orchestral"),
    Corpus("chamber", "hyperrogue-music", Path("/usr/share/hyperrogue/music"), "*.ogg",
           "chamber, piano, ambient"),
    Corpus("adventure", "drascula-music", Path("/usr/share/scummvm/drascula/audio"), "*.ogg",
           "instrumental game score"),
)
SILENT_TRACKS = ("silence.ogg",)  # wesnoth ships a silent track


def available() -> list[Corpus]:
    """The corpora whose package is installed (and whose decoders are)."""
    if shutil.which("sox") is None:
        return []
    out = []
    for corpus in CORPORA:
        if not corpus.root.is_dir() or not any(corpus.root.glob(corpus.pattern)):
            continue
        if corpus.pattern.endswith(".opus") and shutil.which("opusdec") is None:
            continue
        out.append(corpus)
    return out


def _sox_to_raw(src: Path, max_seconds: float | None) -> bytes:
    cmd = ["sox", "-V1", str(src), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
           "-c", "1", "-r", str(RATE), "-", "remix", "-", "rate", "-h"]
    if max_seconds is not None:
        cmd += ["trim", "0", f"{max_seconds:g}"]  # sox stops decoding there
    return subprocess.run(cmd, capture_output=True, check=True, timeout=DECODE_TIMEOUT_S).stdout


def _decode(src: Path, max_seconds: float | None = None) -> bytes:
    if src.suffix == ".opus":
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "track.wav"
            # Opus decodes straight to 8 kHz (band-limited by the decoder itself)
            subprocess.run(["opusdec", "--quiet", "--rate", str(RATE), str(src), str(wav)], check=True,
                           capture_output=True, timeout=DECODE_TIMEOUT_S)
            return _sox_to_raw(wav, max_seconds)
    return _sox_to_raw(src, max_seconds)


def _cached(key: str, make: Callable[[], bytes]) -> bytes:
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    path = CACHE_DIR / "music" / f"{digest}.raw"
    if path.exists():
        return path.read_bytes()
    pcm = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(pcm)
    tmp.replace(path)
    return pcm


def _members(src: Path) -> list[str]:
    with zipfile.ZipFile(src) as archive:
        return sorted(m for m in archive.namelist() if m.endswith(".ogg"))


def track_names(corpus: Corpus) -> list[str]:
    """The names (file stems) of an installed corpus's tracks, sorted."""
    names = []
    for src in sorted(corpus.root.glob(corpus.pattern)):
        if src.suffix == ".pk3":
            names += [Path(m).stem for m in _members(src)]
        elif src.name not in SILENT_TRACKS:
            names.append(src.stem)
    return sorted(names)


def tracks(corpus: Corpus, only: set[str] | None = None,
           max_seconds: float | None = None) -> Iterator[tuple[str, bytes]]:
    """(track name, 8 kHz 16-bit LE mono PCM) for every track of an installed corpus
    (or only the named ones; at most ``max_seconds`` of each), decoded once and cached."""
    for src in sorted(corpus.root.glob(corpus.pattern)):
        if src.name in SILENT_TRACKS:
            continue
        stamp = f"{src}:{src.stat().st_size}:{int(src.stat().st_mtime)}"
        if max_seconds is not None:
            stamp += f":first {max_seconds:g} s"
        if src.suffix == ".pk3":
            for member in _members(src):
                if only is not None and Path(member).stem not in only:
                    continue

                def extract(member: str = member, src: Path = src) -> bytes:
                    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(src) as archive:
                        return _decode(Path(archive.extract(member, tmp)), max_seconds)

                pcm = _cached(f"{stamp}:{member}", extract)
                if len(pcm) > 2 * RATE * MIN_TRACK_S:  # jingles and effects are not music
                    yield Path(member).stem, pcm
            continue
        if only is not None and src.stem not in only:
            continue
        yield src.stem, _cached(stamp, functools.partial(_decode, src, max_seconds))


def normalise(pcm: bytes, level_dbm0: float = NOMINAL_DBM0) -> bytes:
    """Scaled so that the track's RMS over its loud half is ``level_dbm0`` (quiet
    passages and pauses do not pull a track's level down)."""
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    if not len(x):
        return pcm
    frames = x[: len(x) // 800 * 800].reshape(-1, 800)
    power = np.sort(np.mean(frames**2, axis=1))
    loud = power[len(power) // 2 :]
    rms = float(np.sqrt(np.mean(loud))) if len(loud) else 0.0
    if rms <= 0.0:
        return pcm
    y = x * (dbm0_rms(level_dbm0) / rms)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


VARIANTS = ("-10 dBm0", "+6 dB clipped", "+12 dB clipped", "-20 dB", "G.711 mu-law", "G.711 A-law")


def variants(pcm: bytes, names: tuple[str, ...] = VARIANTS) -> Iterator[tuple[str, bytes]]:
    """The track at each level and codec of :data:`VARIANTS` (normalised first)."""
    base = normalise(pcm)
    for name in names:
        if name == "-10 dBm0":
            yield name, base
        elif name == "+6 dB clipped":
            yield name, gain(base, 6)
        elif name == "+12 dB clipped":
            yield name, gain(base, 12)
        elif name == "-20 dB":
            yield name, gain(base, -20)
        elif name == "G.711 mu-law":
            yield name, ulaw_decode(ulaw_encode(base))
        elif name == "G.711 A-law":
            yield name, alaw_decode(alaw_encode(base))
        else:
            raise ValueError(f"unknown variant {name!r}")
