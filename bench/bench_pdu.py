"""SMS PDU codec speed: messages encoded + decoded per second, 1-part and 5-part.

For each case: ``encode_submit`` then ``decode_pdu(direction="mo")`` of every part and
``join_parts``; and ``encode_deliver`` then ``decode_pdu`` of every part (the inbound path).
Rates are per CPU second of this process (``time.process_time``), so that other work on the
machine skews them less. Prints one table row per case. Usage: python bench/bench_pdu.py [--seconds S]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.sms.pdu import (
    SmsDeliver,
    SmsSubmit,
    decode_pdu,
    encode_deliver,
    encode_submit,
    join_parts,
    split_text,
)

NUMBER = "+358401234567"
WHEN = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
GSM_1 = "Hei! Näytteenne tulokset ovat valmiit. Soita 09 123 4567 (ma-pe 8-16) [ref 42] €0."
UCS2_1 = "Ваши результаты готовы 😀 Tervetuloa!"


def _longest_with_parts(base: str, parts: int) -> str:
    """The longest prefix of ``base`` repeated that still fits in ``parts`` parts."""
    text = base * 20
    while len(split_text(text)[1]) > parts:
        text = text[:-1]
    return text


CASES = {
    "gsm7 1-part": GSM_1,
    "gsm7 5-part": _longest_with_parts(GSM_1, 5),
    "ucs2 1-part": UCS2_1,
    "ucs2 5-part": _longest_with_parts(UCS2_1, 5),
}


def _submit_round_trip(text: str) -> None:
    parts = [decode_pdu(p.pdu, direction="mo") for p in encode_submit(NUMBER, text)]
    assert all(isinstance(p, SmsSubmit) for p in parts)
    join_parts(parts)  # type: ignore[arg-type]


def _deliver_round_trip(text: str) -> None:
    parts = [decode_pdu(p) for p in encode_deliver(NUMBER, text, WHEN)]
    assert all(isinstance(p, SmsDeliver) for p in parts)
    join_parts(parts)  # type: ignore[arg-type]


def _rate(fn: Callable[[str], None], text: str, seconds: float) -> float:
    done = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn(text)
        done += 50
        now = time.process_time()
        if now >= deadline:
            return done / (now - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per case")
    args = parser.parse_args()
    print(f"{'case':<14} {'parts':>5} {'submit enc+dec msg/s':>21} {'deliver enc+dec msg/s':>22}  (per CPU second)")
    for name, text in CASES.items():
        parts = len(encode_submit(NUMBER, text))
        submit = _rate(_submit_round_trip, text, args.seconds)
        deliver = _rate(_deliver_round_trip, text, args.seconds)
        print(f"{name:<14} {parts:>5} {submit:>21,.0f} {deliver:>22,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
