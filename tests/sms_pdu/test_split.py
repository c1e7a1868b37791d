"""How text is split into parts: limits, escape pairs and surrogate pairs never cut in two."""

from __future__ import annotations

import pytest

from appliance.sms import gsm7
from appliance.sms.pdu import (
    SmsSubmit,
    decode_pdu,
    encode_submit,
    part_capacity,
    split_text,
)

NUMBER = "+358401234567"
EMOJI = "\U0001f600"


def sent_parts(text: str, *, concat_16bit: bool = False) -> list[SmsSubmit]:
    out = []
    for part in encode_submit(NUMBER, text, concat_16bit=concat_16bit):
        msg = decode_pdu(part.pdu, direction="mo")
        assert isinstance(msg, SmsSubmit)
        out.append(msg)
    return out


def test_single_part_limits() -> None:
    assert split_text("x" * 160) == ("gsm7", ["x" * 160])
    assert split_text("€" * 80) == ("gsm7", ["€" * 80])  # 80 escape pairs = 160 septets
    assert split_text("ő" * 70) == ("ucs2", ["ő" * 70])
    assert split_text(EMOJI * 35) == ("ucs2", [EMOJI * 35])  # 70 code units


def test_one_over_the_single_part_limit_makes_two_parts() -> None:
    assert [len(p) for p in split_text("x" * 161)[1]] == [153, 8]
    assert [len(p) for p in split_text("€" * 80 + "x")[1]] == [76, 5]
    assert [len(p) for p in split_text("ő" * 71)[1]] == [67, 4]


def test_part_capacities() -> None:
    assert part_capacity("gsm7") == 153
    assert part_capacity("gsm7", concat_16bit=True) == 152
    assert part_capacity("ucs2") == 67
    assert part_capacity("ucs2", concat_16bit=True) == 66


@pytest.mark.parametrize(
    ("count", "parts"),
    # python-messaging TestSubmitPduCounts (messaging/test/test_sms.py): same part counts
    [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_part_counts(count: int, parts: int) -> None:
    assert len(encode_submit(NUMBER, "x" * count)) == parts


@pytest.mark.parametrize(("text", "parts"), [("€" * 153, 3), ("€" * 229 + "x", 4)])
def test_escape_pair_part_counts(text: str, parts: int) -> None:
    # python-messaging test_egsm_3/4: 306 and 459 septets
    assert len(encode_submit(NUMBER, text)) == parts


@pytest.mark.parametrize(("count", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3)])
def test_ucs2_part_counts(count: int, parts: int) -> None:
    assert len(encode_submit(NUMBER, "ő" * count)) == parts


def test_escape_pair_at_the_boundary_moves_to_the_next_part() -> None:
    # 152 plain septets, then '€' (ESC 0x65): septet 153 would be a lone ESC.
    text = "x" * 152 + "€" + "y" * 10
    encoding, chunks = split_text(text)
    assert encoding == "gsm7"
    assert chunks == ["x" * 152, "€" + "y" * 10]
    parts = sent_parts(text)
    assert [len(p.raw_user_data) for p in parts] == [152, 12]
    assert all(p.raw_user_data[-1] != gsm7.ESCAPE for p in parts)
    assert [p.text for p in parts] == chunks


@pytest.mark.parametrize("escaped", list("^{}\\[~]|€\f"))
def test_every_extension_char_survives_every_boundary(escaped: str) -> None:
    for lead in range(148, 156):
        text = "a" * lead + escaped * 3 + "b" * 160
        parts = sent_parts(text)
        assert "".join(p.text for p in parts) == text
        for p in parts:
            assert len(p.raw_user_data) <= 153
            assert gsm7.decode(p.raw_user_data) == p.text


def test_surrogate_pair_at_the_boundary_moves_to_the_next_part() -> None:
    text = "a" * 66 + EMOJI + "b" * 10
    encoding, chunks = split_text(text)
    assert encoding == "ucs2"
    assert chunks == ["a" * 66, EMOJI + "b" * 10]
    parts = sent_parts(text)
    assert [p.text for p in parts] == chunks
    assert [len(p.raw_user_data) for p in parts] == [132, 24]


def test_emoji_only_text_with_16bit_reference() -> None:
    text = EMOJI * 100  # 200 code units; 33 emoji (66 units) per part
    parts = sent_parts(text, concat_16bit=True)
    assert [len(p.text) for p in parts] == [33, 33, 33, 1]
    assert all(p.concat is not None and p.concat.bits == 16 for p in parts)
    assert "".join(p.text for p in parts) == text


def test_16bit_reference_gsm7_parts_hold_152_septets() -> None:
    parts = sent_parts("z" * 400, concat_16bit=True)
    assert [len(p.text) for p in parts] == [152, 152, 96]


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2() -> None:
    assert split_text("Hello wörld")[0] == "gsm7"  # ö is in the default alphabet
    assert split_text("Hello wörld ç")[0] == "ucs2"  # ç is not (only Ç is)
    assert split_text("Tervetuloa, Åsa!")[0] == "gsm7"
    assert split_text("Cześć")[0] == "ucs2"


def test_too_many_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="parts"):
        split_text("x" * (153 * 255 + 1))
    assert len(split_text("x" * (153 * 255))[1]) == 255


def test_lone_surrogate_in_text_is_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        split_text("a\ud83d")


def test_bad_recipient_is_refused() -> None:
    for number in ("", "+", "Lab Oy", "+12a", "1" * 21):
        with pytest.raises(ValueError):
            encode_submit(number, "hi")
