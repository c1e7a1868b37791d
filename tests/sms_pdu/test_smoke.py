"""First round trips of the PDU codec (fuller suites live beside this file)."""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver, encode_submit, join_parts


def test_submit_round_trip_single_and_multipart() -> None:
    for text in ("Hello € world", "a€" * 100, "😀" * 80):
        parts = encode_submit("+358401234567", text)
        decoded = [decode_pdu(p.pdu, direction="mo") for p in parts]
        assert join_parts(decoded) == text  # type: ignore[arg-type]


def test_deliver_round_trip() -> None:
    when = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)
    (pdu,) = encode_deliver("Lab Oy", "moi", when)
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsDeliver)
    assert msg.text == "moi"
