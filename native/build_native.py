"""cffi out-of-line API build of the appliance's real-time audio code.

Every ``native/*.c`` file is compiled into one extension, ``appliance._native``.
Each C module declares what Python may call in a ``<module>.cdef`` file beside it
(plain C declarations, no preprocessor), and its prototypes in ``<module>.h``.
Adding a module means adding those three files; this script needs no change.

``APPLIANCE_NATIVE_CFLAGS`` adds compiler flags (the sanitizer test uses it).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
WARNINGS = ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-Wno-unused-parameter"]
OPTIMISE = ["-O2", "-std=c11", "-fno-strict-aliasing"]


def _sources() -> list[Path]:
    return sorted(HERE.glob("*.c"))


def make_ffibuilder() -> FFI:
    builder = FFI()
    cdefs = sorted(HERE.glob("*.cdef"))
    builder.cdef("\n".join(p.read_text() for p in cdefs))
    headers = sorted(HERE.glob("*.h"))
    extra = shlex.split(os.environ.get("APPLIANCE_NATIVE_CFLAGS", ""))
    builder.set_source(
        "appliance._native",
        "\n".join(f'#include "{h.name}"' for h in headers),
        sources=[str(p.relative_to(HERE.parent)) for p in _sources()],
        include_dirs=[str(HERE.relative_to(HERE.parent))],
        extra_compile_args=WARNINGS + OPTIMISE + extra,
        extra_link_args=[f for f in extra if f.startswith("-fsanitize")],
        libraries=["m"],
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
