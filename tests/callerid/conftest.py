"""Caller-ID tests: the helper modules beside this file (cid_signals, fsk_reference,
spandsp_abi) are imported by name. The folder is appended to sys.path, not put first:
other folders import their own ``conftest`` by name and must find theirs."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))
