"""Caller-ID tests: the helper modules beside this file (cid_signals, fsk_reference,
spandsp_abi) are imported by name."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
