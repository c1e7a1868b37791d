"""Property tests: whatever we encode decodes back to the same message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.sms import gsm7
from appliance.sms.pdu import (
    MAX_USER_DATA_OCTETS,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    decode_pdu,
    encode_deliver,
    encode_status_report,
    encode_submit,
    join_parts,
    relative_validity,
    relative_validity_code,
    split_text,
    status_outcome,
)

GSM_CHARS = "".join(ch for ch in gsm7.DEFAULT_ALPHABET if ch != "\xa0") + "".join(gsm7.EXTENSION_TABLE.values())
EMOJI = st.sampled_from(["\U0001f600", "\U0001f63a", "\U0001f44d\U0001f3fd", "\U00010348"])

# Plain GSM text, GSM text with the odd emoji or letter outside the alphabet, and any Unicode.
texts = st.one_of(
    st.text(alphabet=GSM_CHARS, max_size=800),
    st.lists(
        st.one_of(st.sampled_from(list(GSM_CHARS)), EMOJI, st.sampled_from(list("çőЖ中"))),
        max_size=400,
    ).map("".join),
    st.text(max_size=500),
)

numbers = st.builds(
    lambda plus, digits: plus + digits,
    st.sampled_from(["+", ""]),
    st.text(alphabet="0123456789", min_size=1, max_size=20),
)

zones = st.integers(min_value=-48, max_value=56).map(lambda q: timezone(timedelta(minutes=15 * q)))
timestamps = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2069, 12, 31, 23, 59, 59)).map(
        lambda d: d.replace(microsecond=0)
    ),
    zones,
)


def _check_parts_consistent(parts: list[SmsSubmit] | list[SmsDeliver], text: str) -> None:
    assert join_parts(parts) == text
    # each part decodes on its own: no escape or surrogate pair was cut in two
    assert "".join(p.text for p in parts) == text
    if len(parts) > 1:
        refs = {p.concat.ref for p in parts if p.concat}
        assert len(refs) == 1
        assert [p.concat.seq if p.concat else 0 for p in parts] == list(range(1, len(parts) + 1))
        assert all(p.concat and p.concat.total == len(parts) for p in parts)
    else:
        assert parts[0].concat is None


@settings(max_examples=300, deadline=None)
@given(text=texts, number=numbers, concat_16bit=st.booleans(), srr=st.booleans())
def test_submit_round_trip(text: str, number: str, concat_16bit: bool, srr: bool) -> None:
    sent = encode_submit(number, text, concat_16bit=concat_16bit, status_report=srr, message_ref=9)
    encoding, chunks = split_text(text, concat_16bit=concat_16bit)
    assert len(sent) == len(chunks)
    decoded: list[SmsSubmit] = []
    for i, part in enumerate(sent, start=1):
        assert part.pdu.startswith("00") and part.pdu == part.pdu.upper()
        assert part.tpdu_length == len(part.pdu) // 2 - 1
        assert (part.part, part.total) == (i, len(sent))
        msg = decode_pdu(part.pdu, direction="mo")
        assert isinstance(msg, SmsSubmit)
        assert (msg.recipient, msg.encoding, msg.status_report) == (number, encoding, srr)
        assert msg.recipient_type == ("international" if number.startswith("+") else "unknown")
        assert msg.validity == timedelta(days=2) and msg.message_ref == 9
        assert msg.concat is None or msg.concat.bits == (16 if concat_16bit else 8)
        limit = 160 if encoding == "gsm7" else MAX_USER_DATA_OCTETS
        assert len(msg.raw_user_data) + len(msg.user_data_header) <= limit
        decoded.append(msg)
    _check_parts_consistent(decoded, text)


@settings(max_examples=200, deadline=None)
@given(text=texts, when=timestamps, concat_16bit=st.booleans(), force_ucs2=st.booleans())
def test_deliver_round_trip(text: str, when: datetime, concat_16bit: bool, force_ucs2: bool) -> None:
    pdus = encode_deliver("+358401234567", text, when, concat_16bit=concat_16bit, force_ucs2=force_ucs2)
    decoded: list[SmsDeliver] = []
    for pdu in pdus:
        msg = decode_pdu(pdu)
        assert isinstance(msg, SmsDeliver)
        assert (msg.smsc, msg.sender, msg.sender_type) == (
            "+358405202000",
            "+358401234567",
            "international",
        )
        assert msg.timestamp == when and msg.timestamp.utcoffset() == when.utcoffset()
        if force_ucs2:
            assert msg.encoding == "ucs2"
        decoded.append(msg)
    _check_parts_consistent(decoded, text)


alphanumeric = st.text(alphabet="".join(ch for ch in gsm7.DEFAULT_ALPHABET if ch != "\xa0"), min_size=1, max_size=11)


@settings(max_examples=200, deadline=None)
@given(
    sender=st.one_of(
        numbers.map(lambda n: (n, "international" if n.startswith("+") else "unknown")),
        st.text(alphabet="0123456789", min_size=1, max_size=20).map(lambda n: (n, "national")),
        alphanumeric.map(lambda n: (n, "alphanumeric")),
    )
)
def test_sender_addresses_round_trip(sender: tuple[str, str]) -> None:
    value, kind = sender
    (pdu,) = encode_deliver(value, "hi", datetime(2026, 11, 22, tzinfo=UTC), sender_type=kind)
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsDeliver)
    assert (msg.sender, msg.sender_type) == (value, kind)


@settings(max_examples=200, deadline=None)
@given(
    mr=st.integers(0, 255),
    status=st.integers(0, 255),
    recipient=numbers,
    scts=timestamps,
    dt=timestamps,
    smsc=st.sampled_from(["+358405202000", "+1", "", "12345"]),
)
def test_status_report_round_trip(
    mr: int, status: int, recipient: str, scts: datetime, dt: datetime, smsc: str
) -> None:
    pdu = encode_status_report(mr, recipient, status, scts, dt, smsc=smsc)
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsStatusReport)
    assert (msg.message_ref, msg.recipient, msg.status) == (mr, recipient, status)
    assert (msg.timestamp, msg.discharge_time) == (scts, dt)
    assert msg.smsc == (smsc or None)
    assert msg.outcome == status_outcome(status)
    # the same TPDU without its SMSC part (+CDS on some modems)
    tpdu = pdu[2 + 2 * int(pdu[:2], 16) :]
    again = decode_pdu(tpdu, with_smsc=False)
    assert isinstance(again, SmsStatusReport) and again.message_ref == mr


@given(st.integers(0, 255))
def test_relative_validity_code_is_a_fixed_point(code: int) -> None:
    assert relative_validity_code(relative_validity(code)) == code


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(weeks=70)))
def test_relative_validity_never_shortens(period: timedelta) -> None:
    got = relative_validity(relative_validity_code(period))
    assert got >= period or period > timedelta(weeks=63)


@given(st.binary(max_size=160).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_septet_packing_round_trip(septets: bytes, fill: int) -> None:
    packed = gsm7.pack_septets(septets, fill)
    assert len(packed) == (fill + 7 * len(septets) + 7) // 8
    assert gsm7.unpack_septets(packed, len(septets), fill) == septets


@settings(max_examples=15, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=GSM_CHARS, min_size=1000, max_size=6000),
        st.text(min_size=500, max_size=3000),
    )
)
def test_long_texts_round_trip(text: str) -> None:
    sent = encode_submit("+358401234567", text, concat_16bit=True)
    decoded = [decode_pdu(p.pdu, direction="mo") for p in sent]
    assert all(isinstance(m, SmsSubmit) for m in decoded)
    _check_parts_consistent(decoded, text)  # type: ignore[arg-type]
