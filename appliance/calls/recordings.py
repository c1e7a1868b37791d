"""Recordings on disk: call recordings and voice messages as 8 kHz WAV files, bounded.

``<dir>/calls/`` holds call recordings (``line.record_calls``), deleted after
``line.recording_retention_days``; ``<dir>/messages/`` holds voice messages
(always kept: they are complaints' evidence). Together they stay under
``line.recordings_max_mb``: over it, the oldest call recordings go first, then the
oldest messages. A save that would leave the disk under the store's free-space
floor first prunes, and is refused (``StoreFull``) if that is not enough: a
recording never fills the disk.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from appliance.dsp import wav
from appliance.errors import StoreFull

log = logging.getLogger(__name__)

RATE = 8000


class Recordings:
    def __init__(self, directory: Path, *, retention_days: int = 90, max_bytes: int = 1000 << 20,
                 min_free_bytes: int = 64 << 20) -> None:
        self.dir = directory
        self.retention_s = retention_days * 86400
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.deleted = 0

    def _files(self) -> list[tuple[float, int, Path, bool]]:
        out = []
        for sub, is_message in (("calls", False), ("messages", True)):
            d = self.dir / sub
            if not d.is_dir():
                continue
            for p in d.glob("*.wav"):
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                out.append((st.st_mtime, st.st_size, p, is_message))
        return out

    def usage(self) -> int:
        return sum(size for _, size, _, _ in self._files())

    def prune(self, need: int = 0, now: float | None = None) -> int:
        """Delete expired call recordings, then the oldest files until ``need`` more bytes fit."""
        now = time.time() if now is None else now
        files = self._files()
        removed = 0
        keep = []
        for mtime, size, path, is_message in files:
            if not is_message and now - mtime > self.retention_s:
                removed += self._delete(path, "older than the retention")
            else:
                keep.append((mtime, size, path, is_message))
        total = sum(s for _, s, _, _ in keep)
        # call recordings (oldest first) before messages (oldest first)
        keep.sort(key=lambda f: (f[3], f[0]))
        for _, size, path, _ in keep:
            if total + need <= self.max_bytes and self._free() - need >= self.min_free_bytes:
                break
            removed += self._delete(path, "over the recordings bound")
            total -= size
        return removed

    def _free(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.dir).free

    def _delete(self, path: Path, why: str) -> int:
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        self.deleted += 1
        log.info("recording %s deleted: %s", path.name, why)
        return 1

    def save(self, pcm: bytes, stem: str, keep: bool = False) -> str:
        """Write ``pcm`` as ``<stem>-<time>.wav`` (``keep``: a voice message); returns its path."""
        need = len(pcm) + 64
        if need > self.max_bytes:  # would empty the whole store of recordings and still not fit
            raise StoreFull(f"a {need // 1024} KiB recording is larger than line.recordings_max_mb")
        self.prune(need)
        if self._free() - need < self.min_free_bytes:
            raise StoreFull(f"no room for a {need // 1024} KiB recording under {self.dir}")
        sub = self.dir / ("messages" if keep else "calls")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{stem}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.wav"
        part = path.with_suffix(".part")
        wav.write_wav(part, pcm, RATE)
        os.replace(part, path)
        return str(path)
