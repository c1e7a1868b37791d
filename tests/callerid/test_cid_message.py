"""Caller-ID message coding: published byte strings, round trips, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.dsp.cid_message import (
    build_mdmf,
    build_message_waiting,
    build_sdmf,
    checksum,
    frame,
    parse_message,
)
from appliance.errors import DecodeError

# Published examples, byte for byte. Source: microEngineering Labs, "Caller ID"
# (http://melabs.com/resources/callerid.htm, also quoted on
# http://www.homeautomationindex.com/cidinfo.html); the SDMF one is also in the
# Arduino line simulator comment "04 12 30 39 33 30 ... 51" found by code search.
MELABS_SDMF = bytes.fromhex("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 51")
MELABS_SDMF_BLOCKED = bytes.fromhex("04 09 30 39 33 30 31 32 32 34 50 12")
MELABS_MDMF = bytes.fromhex(
    "80 20 01 08 30 33 32 34 30 39 30 32 07 08 4A 4F 48 4E 20 44 4F 45 02 0A"
    " 38 30 30 35 35 35 31 32 31 32 7D"
)


def test_melabs_sdmf_example() -> None:
    msg = parse_message(MELABS_SDMF)
    assert (msg.format, msg.datetime, msg.number) == ("sdmf", "09301224", "6095551212")
    assert build_sdmf("09301224", "6095551212") == MELABS_SDMF


def _fix_sum(raw: bytes) -> bytes:
    return raw[:-1] + bytes([checksum(raw[:-1])])


def test_melabs_sdmf_blocked_example_has_a_wrong_checksum() -> None:
    # As published the checksum is 0x12; the two's complement of the sum is 0x0E.
    with pytest.raises(DecodeError, match=r"checksum 0x12 is wrong \(want 0x0e\)"):
        parse_message(MELABS_SDMF_BLOCKED)
    msg = parse_message(_fix_sum(MELABS_SDMF_BLOCKED))
    assert msg.number is None and msg.number_absent == "private"
    assert msg.event_fields() == {"datetime": "09301224", "format": "sdmf", "reason": "private"}
    assert build_sdmf("09301224", number_absent="private") == _fix_sum(MELABS_SDMF_BLOCKED)


def test_melabs_mdmf_example_has_a_wrong_checksum() -> None:
    # As published the checksum is 0x7D; the two's complement of the sum is 0x84.
    with pytest.raises(DecodeError, match=r"checksum 0x7d is wrong \(want 0x84\)"):
        parse_message(MELABS_MDMF)
    msg = parse_message(_fix_sum(MELABS_MDMF))
    assert (msg.datetime, msg.name, msg.number) == ("03240902", "JOHN DOE", "8005551212")
    assert msg.event_fields() == {
        "number": "8005551212", "name": "JOHN DOE", "datetime": "03240902", "format": "mdmf"}
    # the example puts the name before the number; ours puts the number first
    ours = build_mdmf(number="8005551212", name="JOHN DOE", datetime="03240902")
    assert parse_message(ours).event_fields() == msg.event_fields()
    assert sorted(ours) == sorted(_fix_sum(MELABS_MDMF))


def test_control_bytes_in_a_field_are_dropped() -> None:
    # a lone backspace where the name is unavailable (Verizon, per pycidminimodemwrap)
    msg = parse_message(frame(0x80, bytes([2, 3]) + b"123" + bytes([7, 1, 8])))
    assert msg.number == "123" and msg.name is None


def test_checksum_is_twos_complement_of_sum() -> None:
    assert checksum(MELABS_SDMF[:-1]) == 0x51
    assert (sum(MELABS_SDMF) & 0xFF) == 0


def test_bad_checksum_is_refused() -> None:
    bad = MELABS_SDMF[:-1] + bytes([MELABS_SDMF[-1] ^ 1])
    with pytest.raises(DecodeError, match="checksum"):
        parse_message(bad)


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(DecodeError, match="length"):
        parse_message(MELABS_SDMF[:-2] + MELABS_SDMF[-1:])


def test_absence_reasons_in_mdmf() -> None:
    msg = parse_message(build_mdmf(datetime="11221530", number_absent="unavailable",
                                   name_absent="private"))
    assert msg.event_fields() == {"datetime": "11221530", "format": "mdmf",
                                  "reason": "unavailable", "name_reason": "private"}


def test_message_waiting_is_not_caller_id() -> None:
    msg = parse_message(build_message_waiting(True))
    assert msg.message_waiting is True and not msg.is_caller_id


def test_bad_date_is_dropped_not_the_number() -> None:
    raw = frame(0x80, bytes([1, 8]) + b"12a45678" + bytes([2, 3]) + b"123")
    msg = parse_message(raw)
    assert msg.datetime is None and msg.number == "123"


def test_truncated_parameter_is_refused() -> None:
    with pytest.raises(DecodeError, match="parameter"):
        parse_message(frame(0x80, bytes([2, 10]) + b"123"))


def test_builder_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="datetime"):
        build_sdmf("1122153", "123")
    with pytest.raises(ValueError, match="control"):
        build_mdmf(number="12\n3")
    with pytest.raises(ValueError, match="exceeds"):
        frame(0x80, bytes(256))


numbers = st.text(alphabet="0123456789", min_size=1, max_size=20)
names = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                max_size=15)
dates = st.builds(lambda mo, d, h, mi: f"{mo:02d}{d:02d}{h:02d}{mi:02d}",
                  st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59))


@given(number=numbers, name=names, when=dates)
def test_mdmf_round_trip(number: str, name: str, when: str) -> None:
    msg = parse_message(build_mdmf(number=number, name=name, datetime=when))
    assert (msg.number, msg.name, msg.datetime) == (number, name, when)


@given(number=numbers, when=dates)
def test_sdmf_round_trip(number: str, when: str) -> None:
    msg = parse_message(build_sdmf(when, number))
    assert (msg.number, msg.datetime, msg.format) == (number, when, "sdmf")


@settings(max_examples=500)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        parse_message(raw)


@settings(max_examples=500)
@given(msg_type=st.sampled_from([0x04, 0x06, 0x80, 0x82, 0x86, 0x89, 0x00, 0x7F]),
       payload=st.binary(max_size=255))
def test_well_framed_garbage_raises_only_decode_error(msg_type: int, payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        parse_message(frame(msg_type, payload))
