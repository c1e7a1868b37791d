"""scripts/install-pi.sh for real, in a Debian bookworm root made with debootstrap (no running init).

The root is cached between runs (tests/field/debroot.py); each test run copies it, runs the
install script inside with chroot, checks what a box would have, re-runs it, uninstalls.
The unit is checked with `systemd-analyze verify` and `systemd-analyze security --offline`
inside the root, against the installed files. Pip inside the root uses the host's pip
settings for the package registry (certificate, timeout) and a cached download dir.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.field import debroot
from tests.helpers import REPO

# minutes on a loaded machine (apt, pip, two venv builds): beyond pyproject's 300 s default
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

SKIP_DIRS = {".git", ".venv", "__pycache__", "build", "appliance-data", ".pytest_cache", "node_modules"}
TEST_ONLY = ("playwright", "numpy", "psycopg", "mypy", "pytest", "hypothesis", "ruff")


def _copy_source(dest: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_DIRS or n.endswith((".egg-info", ".so")) or n == "_native.c"}

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)


def _pip_env(root: Path) -> dict[str, str]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_DEFAULT_TIMEOUT": os.environ.get("PIP_DEFAULT_TIMEOUT", "120")}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if os.environ.get(name, "").startswith("http"):
            env[name] = os.environ[name]
    cert = os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
    if cert and Path(cert).is_file():  # the registry may be reached through the host's CA
        shutil.copy(cert, root / "etc" / "host-ca.pem")
        env["PIP_CERT"] = "/etc/host-ca.pem"
    return env


def _mount_pip_cache(root: Path) -> Path:
    cache = debroot.cache_dir() / "pip-cache"
    cache.mkdir(exist_ok=True)
    target = root / "root" / ".cache" / "pip"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(cache), str(target)], check=True)
    return target


@pytest.fixture
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], float]]:
    reason = debroot.why_not()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("box") / "root"
    root.mkdir()
    with debroot.fresh_root(root):
        _copy_source(root / "src")
        pip_cache = _mount_pip_cache(root)
        env = _pip_env(root)
        try:
            started = time.monotonic()
            result = _chroot(root, env, "/src/scripts/install-pi.sh", "--site-id", "lab-test-1", timeout=1800)
            took = time.monotonic() - started
            assert result.returncode == 0, result.stdout + result.stderr
            yield root, env, took
        finally:
            subprocess.run(["umount", "-l", str(pip_cache)], check=False)


def _chroot(root: Path, env: dict[str, str], *cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(root), *cmd], env=env, capture_output=True, text=True, timeout=timeout)


def _check_layout(box: tuple[Path, dict[str, str], float]) -> None:
    root, env, took = box
    print(f"install took {took:.0f} s")  # BENCHMARKS.md: install time
    version = _chroot(root, env, "/opt/appliance/venv/bin/appliance", "--version")
    assert version.returncode == 0 and version.stdout.startswith("appliance ")
    native = _chroot(root, env, "/opt/appliance/venv/bin/python", "-c",
                     "import appliance._native as n; print(n.__file__)")
    assert native.returncode == 0 and "/opt/appliance/venv/" in native.stdout, native.stderr
    frozen = _chroot(root, env, "/opt/appliance/venv/bin/pip", "freeze").stdout.lower()
    for name in TEST_ONLY:
        assert not re.search(rf"^{name}[=\[]", frozen, re.M), f"{name} installed on a box"
    constraints = (REPO / "constraints.txt").read_text().lower()
    for line in frozen.splitlines():  # what is installed is what was tested
        if "==" in line and not line.startswith(("lab-appliance", "pip==", "setuptools==", "wheel==")):
            assert line in constraints, f"{line} not in constraints.txt"
    dpkg = _chroot(root, env, "dpkg-query", "-W", "-f", "${Package}\n").stdout.split()
    for unwanted in ("chromium", "mosquitto", "asterisk-core-sounds-en-wav"):
        assert unwanted not in dpkg

    user = _chroot(root, env, "id", "appliance").stdout
    for group in ("dialout", "plugdev", "gpio", "audio"):
        assert f"({group})" in user, user
    cfg = root / "etc" / "appliance" / "appliance.toml"
    st = cfg.stat()
    assert oct(st.st_mode & 0o777) == "0o640"
    assert 'id = "lab-test-1"' in cfg.read_text()
    assert 'driver = "serial"' in cfg.read_text() and 'driver = "v253"' in cfg.read_text()
    db = root / "var" / "lib" / "appliance" / "appliance.db"
    assert db.exists()
    owner = _chroot(root, env, "stat", "-c", "%U", "/var/lib/appliance/appliance.db").stdout.strip()
    assert owner == "appliance"
    assert (root / "etc/systemd/system/multi-user.target.wants/appliance.service").is_symlink()
    rules = (root / "etc/udev/rules.d/90-appliance-modems.rules").read_text()
    assert 'SYMLINK+="appliance-modem"' in rules and 'SYMLINK+="appliance-line"' in rules
    assert rules.count('ENV{ID_MM_DEVICE_IGNORE}="1"') >= 5
    # the installed config is one the daemon accepts (drivers named; no simulator)
    check = _chroot(root, env, "runuser", "-u", "appliance", "--", "/opt/appliance/venv/bin/python", "-c",
                    "from appliance.config import load_config; c = load_config('/etc/appliance/appliance.toml');"
                    "print(c.modem.driver, c.line.driver, c.db_path)")
    assert check.stdout.split() == ["serial", "v253", "/var/lib/appliance/appliance.db"], check.stderr


def _check_unit(box: tuple[Path, dict[str, str], float]) -> None:
    root, env, _ = box
    verify = _chroot(root, env, "systemd-analyze", "verify", "/etc/systemd/system/appliance.service")
    problems = [ln for ln in verify.stderr.splitlines() if "appliance.service" in ln]
    assert verify.returncode == 0 and not problems, verify.stderr
    security = _chroot(root, env, "systemd-analyze", "security", "--offline=true", "--no-pager",
                       "/etc/systemd/system/appliance.service")
    assert security.returncode == 0, security.stderr
    m = re.search(r"Overall exposure level for appliance\.service: (\d+\.\d+)", security.stdout + security.stderr)
    assert m, security.stdout + security.stderr
    print(f"systemd-analyze security: exposure {m.group(1)}")
    assert float(m.group(1)) <= 5.0  # "OK" or better on systemd's scale


def _check_rerun_and_uninstall(box: tuple[Path, dict[str, str], float]) -> None:
    root, env, _ = box
    cfg = root / "etc" / "appliance" / "appliance.toml"
    cfg.write_text(cfg.read_text() + "# edited by the technician\n")
    marker = _chroot(root, env, "runuser", "-u", "appliance", "--", "/opt/appliance/venv/bin/appliance",
                     "--config", "/etc/appliance/appliance.toml", "sms", "send", "--to", "+358401234567",
                     "--text", "kept", "--json")
    assert marker.returncode == 0, marker.stderr
    again = _chroot(root, env, "/src/scripts/install-pi.sh", timeout=900)
    assert again.returncode == 0, again.stderr
    assert "already holds this source" in again.stderr
    assert cfg.read_text().endswith("# edited by the technician\n")
    listed = _chroot(root, env, "/opt/appliance/venv/bin/appliance", "--config", "/etc/appliance/appliance.toml",
                     "sms", "list", "--json")
    assert '"kept"' in listed.stdout

    # an upgrade keeps the old program; --rollback puts it back (the database restore on rollback:
    # tests/field/test_backup.py::test_upgrade_backs_up_first_and_the_backup_brings_the_old_schema_back)
    first_hash = (root / "opt/appliance/venv/.source-hash").read_text()
    (root / "src/appliance/ops/__init__.py").write_text('"""Field operations (a newer version)."""\n')
    upgraded = _chroot(root, env, "/src/scripts/install-pi.sh", timeout=900)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (root / "opt/appliance/venv.previous").is_dir()
    assert (root / "opt/appliance/venv/.source-hash").read_text() != first_hash
    back = _chroot(root, env, "/src/scripts/install-pi.sh", "--rollback", timeout=300)
    assert back.returncode == 0, back.stderr
    assert (root / "opt/appliance/venv/.source-hash").read_text() == first_hash
    listed = _chroot(root, env, "/opt/appliance/venv/bin/appliance", "--config", "/etc/appliance/appliance.toml",
                     "sms", "list", "--json")
    assert '"kept"' in listed.stdout, listed.stderr

    gone = _chroot(root, env, "/src/scripts/install-pi.sh", "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not (root / "opt" / "appliance").exists()
    assert not (root / "etc/systemd/system/appliance.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/appliance.service").exists()
    assert not (root / "etc/udev/rules.d/90-appliance-modems.rules").exists()
    assert cfg.exists() and (root / "var/lib/appliance/appliance.db").exists()

    purged = _chroot(root, env, "/src/scripts/install-pi.sh", "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not cfg.exists() and not (root / "var/lib/appliance").exists()
    assert _chroot(root, env, "id", "appliance").returncode != 0


def test_install_on_a_bookworm_root(box: tuple[Path, dict[str, str], float]) -> None:
    """One test, in steps: later steps uninstall what the earlier ones look at."""
    _check_layout(box)
    _check_unit(box)
    _check_rerun_and_uninstall(box)
