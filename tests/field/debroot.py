"""A Debian bookworm root made with debootstrap, cached between runs (the install test and bench).

The root is built once under ``$APPLIANCE_TEST_CACHE`` (default ``~/.cache/appliance-tests``)
with the run-time system packages of ``scripts/system-deps.sh --list-runtime`` already in,
so a test run copies it (seconds) instead of downloading Debian (minutes). CI keeps that
directory between runs. A key of the package list names the cached root: a new package
builds a new root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import REPO

SUITE = "bookworm"
MIRROR = os.environ.get("APPLIANCE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# what the install script needs besides the run-time packages: systemd (sysusers, the unit),
# udev (the rules' directory), certificates for pip
EXTRA = ["systemd", "udev", "ca-certificates", "python3-pip"]


def cache_dir() -> Path:
    base = os.environ.get("APPLIANCE_TEST_CACHE") or str(Path.home() / ".cache" / "appliance-tests")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def runtime_packages() -> list[str]:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "system-deps.sh"), "--list-runtime"],
        capture_output=True, text=True, check=True,
    ).stdout
    return out.split()


def why_not() -> str | None:
    """Why a root cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "debootstrap and chroot need root"
    if shutil.which("debootstrap") is None:
        return "debootstrap not installed (apt-get install debootstrap)"
    if shutil.which("chroot") is None:
        return "chroot not found"
    return None


def cached_root() -> Path:
    """The cached root's directory, built now when missing (takes minutes the first time)."""
    packages = sorted(set(runtime_packages() + EXTRA))
    key = hashlib.sha256(" ".join([SUITE, MIRROR, *packages]).encode()).hexdigest()[:12]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    root = cache_dir() / f"{SUITE}-{arch or 'host'}-{key}"
    with (cache_dir() / "debroot.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return root
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(tmp), MIRROR],
            check=True, capture_output=True, timeout=3600,
        )
        subprocess.run(["chroot", str(tmp), "apt-get", "clean"], check=False, capture_output=True)
        (tmp / ".complete").write_text(" ".join(packages) + "\n")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return root


@contextlib.contextmanager
def fresh_root(dest: Path) -> Iterator[Path]:
    """A copy of the cached root at ``dest`` with /proc, /dev and /sys mounted; unmounted after."""
    src = cached_root()
    subprocess.run(["cp", "-a", "--reflink=auto", f"{src}/.", str(dest)], check=True)
    mounts: list[Path] = []
    try:
        for fs, target, opts in (("proc", "proc", []), ("sysfs", "sys", []), ("/dev", "dev", ["--bind"])):
            path = dest / target
            path.mkdir(exist_ok=True)
            args = ["mount", *opts, fs, str(path)] if opts else ["mount", "-t", fs, fs, str(path)]
            subprocess.run(args, check=True, capture_output=True)
            mounts.append(path)
        shutil.copy("/etc/resolv.conf", dest / "etc" / "resolv.conf")
        yield dest
    finally:
        for path in reversed(mounts):
            subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
