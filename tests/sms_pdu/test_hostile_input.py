"""Hostile input: decode_pdu raises only DecodeError, with a message naming what was wrong."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import DecodeError
from appliance.sms.pdu import (
    MAX_TPDU_OCTETS,
    Direction,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
)

WHEN = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
VALID_PDUS = [
    *encode_deliver("+358401234567", "Hello € [world] " * 20, WHEN, concat_16bit=True),
    *encode_deliver("Lab Oy", "Tulokset \U0001f600 valmiina" * 3, WHEN),
    encode_status_report(7, "+358401234567", 0x21, WHEN, WHEN),
    # python-gsmmodem test/test_pdu.py: 8-bit SUBMIT, stored SUBMIT with absolute validity
    "0591721891F101000B917228214365F700040C48656C6C6F20776F726C6421",
    "0019000B917228001011F100003170013193008017D474BB3CA787DB70903DCC4E93D3F43C885E9ED301",
]
VALID_SUBMITS = [p.pdu for p in encode_submit("+358401234567", "Kiitos käynnistä! " * 12)]


def _check_sane(msg: SmsDeliver | SmsStatusReport | SmsSubmit) -> None:
    """What a decode returns can be stored: UTF-8-encodable text, an aware time stamp."""
    if isinstance(msg, SmsStatusReport):
        msg.recipient.encode("utf-8")
        assert msg.timestamp.utcoffset() is not None
        assert msg.outcome in ("delivered", "pending", "failed")
        return
    msg.text.encode("utf-8")
    if isinstance(msg, SmsDeliver):
        msg.sender.encode("utf-8")
        assert msg.timestamp.utcoffset() is not None
    else:
        msg.recipient.encode("utf-8")
    assert len(msg.raw_user_data) <= 160


def _decode_any(data: str | bytes, with_smsc: bool, direction: Direction) -> None:
    try:
        msg = decode_pdu(data, with_smsc=with_smsc, direction=direction)
    except DecodeError as err:
        assert str(err)  # never an empty message
    else:
        _check_sane(msg)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=260), with_smsc=st.booleans(), direction=st.sampled_from(["mt", "mo"]))
def test_random_bytes_raise_only_decode_error(data: bytes, with_smsc: bool, direction: Direction) -> None:
    _decode_any(data, with_smsc, direction)


@settings(max_examples=300, deadline=None)
@given(data=st.text(max_size=300))
def test_random_text_raises_only_decode_error(data: str) -> None:
    _decode_any(data, True, "mt")


@settings(max_examples=1500, deadline=None)
@given(
    base=st.sampled_from(VALID_PDUS + VALID_SUBMITS),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 200)),
)
def test_mutated_valid_pdus_raise_only_decode_error(base: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray.fromhex(base)
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[:cut]
    direction: Direction = "mo" if base in VALID_SUBMITS else "mt"
    _decode_any(bytes(data), True, direction)


def test_every_truncation_of_a_valid_pdu_names_the_missing_field() -> None:
    for pdu in VALID_PDUS + VALID_SUBMITS:
        raw = bytes.fromhex(pdu)
        direction: Direction = "mo" if pdu in VALID_SUBMITS else "mt"
        decode_pdu(raw, direction=direction)
        for n in range(len(raw)):
            with pytest.raises(DecodeError, match=r"truncated|empty|UDH|length"):
                decode_pdu(raw[:n], direction=direction)


def test_seeded_bit_flips_over_many_pdus() -> None:
    rng = random.Random(20261122)
    for _ in range(3000):
        raw = bytearray.fromhex(rng.choice(VALID_PDUS))
        for _ in range(rng.randint(1, 3)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        _decode_any(bytes(raw), True, "mt")


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        ("", "empty"),
        ("0", "odd number"),
        ("zz", "not hexadecimal"),
        ("00" * (MAX_TPDU_OCTETS + 20), "too long"),
        ("0C91" + "11" * 11, "SMSC: bad length"),
        ("0004", "truncated: originating address length"),
        ("00041591" + "11" * 10, "originating address: bad length 21"),
        ("06917228195339040B917228214365F70000313080512061800A1D4F29C2E03", "odd number"),
        # python-gsmmodem's DELIVER 'Test2' with UDL raised to 0xA1 septets
        ("06917228195339040B917228214365F7000031308051206180A1D4F29C2E03", "bad user data length"),
        ("06917228195339040B917228214365F7000031308051206180" + "10D4F29C2E03", "truncated"),
        # UDHI set, UDH length 0x09 beyond the 5 octets of user data
        ("06917228195339440B917228214365F7000431308051206180050900030101", "bad UDH: length"),
        # UDHI set, an IE claims more octets than the header holds
        ("06917228195339440B917228214365F70004313080512061800504000701AA", "bad UDH: element 0x00"),
        # month 13
        ("06917228195339040B917228214365F7000031318051206180" + "05D4F29C2E03", "valid date"),
        # a digit 0xC in the time stamp
        ("06917228195339040B917228214365F70000C1308051206180" + "05D4F29C2E03", "decimal digits"),
        # a DELIVER first octet where only a SUBMIT is expected (direction "mo")
        ("0004" + "0B917228214365F7", "not an SMS-SUBMIT"),
        # filler in the middle of the number
        ("00040B917228F14365F700003130805120618005D4F29C2E03", "filler"),
    ],
)
def test_error_messages_name_the_problem(pdu: str, message: str) -> None:
    direction: Direction = "mo" if message == "not an SMS-SUBMIT" else "mt"
    with pytest.raises(DecodeError, match=message):
        decode_pdu(pdu, direction=direction)


def test_unknown_information_elements_are_skipped() -> None:
    # UDH: IEI 0x24 (national single shift, 1 octet), 0x70 (unknown, 2 octets), then 8-bit concat
    udh = bytes([0x24, 0x01, 0x0D, 0x70, 0x02, 0xAA, 0xBB, 0x00, 0x03, 0x42, 0x02, 0x01])
    body = "Hei!".encode("utf-16-be")
    ud = bytes([len(udh)]) + udh + body
    tpdu = bytes.fromhex("440B917228214365F70008") + bytes.fromhex("62112230405059") + bytes([len(ud)]) + ud
    msg = decode_pdu(b"\x00" + tpdu)
    assert isinstance(msg, SmsDeliver)
    assert msg.text == "Hei!"
    assert msg.concat is not None and (msg.concat.ref, msg.concat.total, msg.concat.seq) == (
        0x42,
        2,
        1,
    )
    assert [iei for iei, _ in msg.information_elements] == [0x24, 0x70, 0x00]


def test_impossible_concatenation_values_are_ignored() -> None:
    # TS 23.040 9.2.3.24.1: seq 0 or seq > total -> the IE is ignored, the text still arrives
    for total, seq in ((0, 0), (2, 0), (2, 3)):
        udh = bytes([0x00, 0x03, 0x01, total, seq])
        ud = bytes([len(udh)]) + udh + b"\x00H\x00i"
        tpdu = bytes.fromhex("440B917228214365F7000862112230405059") + bytes([len(ud)]) + ud
        msg = decode_pdu(b"\x00" + tpdu)
        assert isinstance(msg, SmsDeliver)
        assert (msg.text, msg.concat) == ("Hi", None)


def test_8bit_port_addressed_data_is_bytes() -> None:
    # IEI 0x05: 16-bit application ports (WAP push to 2948 from 9200)
    udh = bytes([0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0])
    ud = bytes([len(udh)]) + udh + bytes([0x01, 0x06, 0xFF, 0x00])
    tpdu = bytes.fromhex("440B917228214365F7000462112230405059") + bytes([len(ud)]) + ud
    msg = decode_pdu(b"\x00" + tpdu)
    assert isinstance(msg, SmsDeliver)
    assert (msg.encoding, msg.ports, msg.raw_user_data) == (
        "8bit",
        (2948, 9200),
        bytes([0x01, 0x06, 0xFF, 0x00]),
    )


def test_lone_surrogate_from_a_careless_sender_becomes_a_replacement_char() -> None:
    ud = "ab".encode("utf-16-be") + b"\xd8\x3d"
    tpdu = bytes.fromhex("040B917228214365F7000862112230405059") + bytes([len(ud)]) + ud
    msg = decode_pdu(b"\x00" + tpdu)
    assert isinstance(msg, SmsDeliver)
    assert msg.text == "ab\ufffd"


def test_compressed_and_reserved_coding_schemes() -> None:
    base = "040B917228214365F700{dcs}62112230405059" + "05D4F29C2E03"
    compressed = decode_pdu("00" + base.format(dcs="24"))  # compressed 8-bit: not decoded
    assert isinstance(compressed, SmsDeliver)
    assert (compressed.encoding, compressed.text) == ("compressed", "")
    reserved = decode_pdu("00" + base.format(dcs="8C"))  # group 1000: read as GSM-7
    assert isinstance(reserved, SmsDeliver)
    assert (reserved.encoding, reserved.text) == ("gsm7", "Test2")
