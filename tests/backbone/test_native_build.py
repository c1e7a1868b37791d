"""native/ compiles warning-free with -Wall -Wextra (as the install does, plus -Werror)."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import REPO

SOURCES = sorted((REPO / "native").glob("*.c"))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_compiles_without_warnings(source: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        ["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
         "-I", str(REPO / "native"), "-I", sysconfig.get_paths()["include"],
         "-c", str(source), "-o", str(tmp_path / "out.o")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_every_module_has_header_and_cdef() -> None:
    for source in SOURCES:
        assert source.with_suffix(".h").exists(), f"{source.name} has no header"
        assert source.with_suffix(".cdef").exists(), f"{source.name} has no .cdef"
