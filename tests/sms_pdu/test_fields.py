"""Single fields: status classification, validity formats, status-report options, odd addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from appliance.errors import DecodeError
from appliance.sms import gsm7
from appliance.sms.pdu import (
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
    join_parts,
    status_description,
    status_outcome,
)

WHEN = datetime(2026, 11, 22, 3, 30, tzinfo=timezone(timedelta(hours=2)))
# an SMS-SUBMIT TPDU head: first octet with TP-VPF 01 (enhanced), MR 0, DA +27821234567, PID, DCS
ENHANCED_HEAD = "09000B917228214365F70000"
TAIL = "05D4F29C2E03"  # UDL 5, "Test2"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        *[(s, "delivered") for s in (0x00, 0x01, 0x02, 0x10, 0x1F)],
        *[(s, "pending") for s in (0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x30, 0x3F)],
        *[(s, "failed") for s in range(0x40, 0x4A)],
        *[(s, "failed") for s in range(0x60, 0x66)],
        *[(s, "failed") for s in (0x50, 0x5F, 0x70, 0x7F)],
        # reserved values: TS 23.040 9.2.3.15 says read them as "service rejected"
        *[(s, "failed") for s in (0x03, 0x0F, 0x26, 0x2F, 0x4A, 0x66, 0x80, 0xFF)],
    ],
)
def test_status_outcome(status: int, outcome: str) -> None:
    assert status_outcome(status) == outcome
    pdu = encode_status_report(3, "+358401234567", status, WHEN, WHEN)
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsStatusReport)
    assert (msg.status, msg.outcome) == (status, outcome)


def test_status_descriptions() -> None:
    assert status_description(0x00) == "received by the recipient"
    assert status_description(0x46) == "validity period expired"
    assert status_description(0x65) == "error in recipient (gave up)"
    assert status_description(0x31) == "service-centre specific status 0x31 (temporary error, still trying)"
    assert status_description(0x4B) == "reserved status 0x4B (permanent error)"


@pytest.mark.parametrize(
    ("vp", "validity"),
    [
        ("01AA0000000000", timedelta(days=4)),  # relative format inside the enhanced field
        ("02FF0000000000", timedelta(seconds=255)),  # relative seconds
        ("03214365000000", timedelta(hours=12, minutes=34, seconds=56)),  # HH MM SS semi-octets
        ("00000000000000", None),  # no validity period
        ("41AA0000000000", timedelta(days=4)),  # single-shot bit set
    ],
)
def test_enhanced_validity_period(vp: str, validity: timedelta | None) -> None:
    msg = decode_pdu("00" + ENHANCED_HEAD + vp + TAIL, direction="mo")
    assert isinstance(msg, SmsSubmit)
    assert (msg.validity, msg.text) == (validity, "Test2")


def test_enhanced_validity_reserved_format_is_an_error() -> None:
    with pytest.raises(DecodeError, match="enhanced validity period: reserved format 5"):
        decode_pdu("00" + ENHANCED_HEAD + "05000000000000" + TAIL, direction="mo")


def test_submit_flags_and_no_validity() -> None:
    (part,) = encode_submit("+358401234567", "x", validity=None, status_report=False, message_ref=200)
    msg = decode_pdu(part.pdu, direction="mo")
    assert isinstance(msg, SmsSubmit)
    assert (msg.validity, msg.status_report, msg.message_ref, msg.dcs) == (None, False, 200, 0)
    with pytest.raises(ValueError, match="message_ref"):
        encode_submit("+358401234567", "x", message_ref=256)


def test_status_report_with_parameter_indicator_and_text() -> None:
    base = encode_status_report(9, "+358401234567", 0x00, WHEN, WHEN)
    # TP-PI 0x07: TP-PID, TP-DCS and TP-UDL follow; GSM-7 "Test2"
    msg = decode_pdu(base + "07" + "00" + "00" + TAIL)
    assert isinstance(msg, SmsStatusReport)
    assert (msg.message_ref, msg.text, msg.outcome) == (9, "Test2", "delivered")
    # TP-PI 0x00 (nothing follows), as some centres send it
    bare = decode_pdu(base + "00")
    assert isinstance(bare, SmsStatusReport) and bare.text == ""
    # announced fields cut short, or SIM padding: the status arrived whole, so the report stays
    for junk in ("0700", "07000009", "FFFFFFFF", "87"):
        kept = decode_pdu(base + junk)
        assert isinstance(kept, SmsStatusReport)
        assert (kept.message_ref, kept.status, kept.text) == (9, 0, "")


@pytest.mark.parametrize("number", ["*100#", "#31#0401234567", "+358*12#"])
def test_star_and_hash_in_numbers(number: str) -> None:
    (pdu,) = encode_deliver(number, "saldo 5 €", WHEN)
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsDeliver)
    assert msg.sender == number
    (part,) = encode_submit(number, "x")
    sub = decode_pdu(part.pdu, direction="mo")
    assert isinstance(sub, SmsSubmit) and sub.recipient == number


def test_odd_length_numbers_use_the_filler() -> None:
    (part,) = encode_submit("+35840123456", "x")  # 11 digits
    assert "0B915348103254F6" in part.pdu
    (part,) = encode_submit("12345", "x")
    assert "05812143F5" in part.pdu


def test_smsc_forms() -> None:
    (with_plus,) = encode_deliver("+1", "x", WHEN, smsc="+358405202000")
    assert with_plus.startswith("0791534850020200")
    assert decode_pdu(with_plus).smsc == "+358405202000"
    (national,) = encode_deliver("+1", "x", WHEN, smsc="0405202000")
    assert national.startswith("06814050020200")
    assert decode_pdu(national).smsc == "0405202000"
    (no_smsc,) = encode_deliver("+1", "x", WHEN, smsc="")
    assert no_smsc.startswith("00")
    assert decode_pdu(no_smsc).smsc is None
    msg = decode_pdu(no_smsc[2:], with_smsc=False)
    assert isinstance(msg, SmsDeliver) and msg.sender == "+1"


def test_naive_or_odd_zone_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_deliver("+1", "x", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="quarter hours"):
        encode_deliver("+1", "x", datetime(2026, 1, 1, tzinfo=timezone(timedelta(minutes=10))))


def test_negative_quarter_hour_zone_round_trips() -> None:
    newfoundland = timezone(-timedelta(hours=3, minutes=30))
    (pdu,) = encode_deliver("+1", "x", datetime(2026, 1, 1, 8, tzinfo=newfoundland))
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsDeliver)
    assert msg.timestamp.utcoffset() == -timedelta(hours=3, minutes=30)
    assert msg.timestamp == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)


def test_class0_flash_deliver_and_message_waiting_groups() -> None:
    head = "00040B917228214365F700"
    scts = "62112230405059"
    cases = {"10": ("gsm7", 0), "F0": ("gsm7", 0), "F7": ("8bit", 3), "C8": ("gsm7", None)}
    for dcs, (encoding, klass) in cases.items():
        msg = decode_pdu(head + dcs + scts + TAIL)
        assert isinstance(msg, SmsDeliver)
        assert (msg.encoding, msg.message_class) == (encoding, klass)
    ucs2_mwi = decode_pdu(head + "E0" + scts + "0400480069")
    assert isinstance(ucs2_mwi, SmsDeliver) and ucs2_mwi.text == "Hi"


def test_reserved_mti_is_read_as_deliver() -> None:
    # TS 23.040 9.2.3.1: a reserved TP-MTI (11) received by the MS is processed as SMS-DELIVER
    msg = decode_pdu("00070B917228214365F7000062112230405059" + TAIL)
    assert isinstance(msg, SmsDeliver) and msg.text == "Test2"


def _deliver_part(ud_body: bytes, udl: int, dcs: int, seq: int) -> str:
    udh = bytes([5, 0x00, 0x03, 0x33, 2, seq])
    return f"00440B917228214365F700{dcs:02X}62112230405059{udl:02X}" + (udh + ud_body).hex()


def test_join_parts_repairs_pairs_a_careless_sender_cut_in_two() -> None:
    # GSM-7: part 1 ends in a lone ESC, part 2 starts with 0x65 -> '€' (1 fill bit after the UDH)
    first = gsm7.pack_septets(gsm7.encode("ab") + bytes([gsm7.ESCAPE]), 1)
    second = gsm7.pack_septets(bytes([0x65]) + gsm7.encode("c"), 1)
    parts = [decode_pdu(_deliver_part(first, 7 + 3, 0x00, 1)), decode_pdu(_deliver_part(second, 7 + 2, 0x00, 2))]
    assert all(isinstance(p, SmsDeliver) for p in parts)
    assert [p.text for p in parts] == ["ab ", "ec"]
    assert join_parts(parts[::-1]) == "ab€c"  # type: ignore[arg-type]
    # UCS-2: a surrogate pair cut after its high half
    emoji = "\U0001f600".encode("utf-16-be")
    ucs = [
        decode_pdu(_deliver_part(b"\x00a" + emoji[:2], 6 + 4, 0x08, 1)),
        decode_pdu(_deliver_part(emoji[2:] + b"\x00b", 6 + 4, 0x08, 2)),
    ]
    assert [p.text for p in ucs] == ["a\ufffd", "\ufffdb"]
    assert join_parts(ucs) == "a\U0001f600b"  # type: ignore[arg-type]
