"""DTMF caller ID: the string assembler, and generated DTMF audio through the chain."""

from __future__ import annotations

import pytest
from cid_signals import pad

from appliance.dsp.callerid import DTMF_DIGIT_GAP_S, DTMF_MAX_DIGITS, DtmfCallerIdAssembler
from appliance.dsp.callerid_gen import dtmf_cid_string, dtmf_signal
from appliance.dsp.chain import decode


def feed(text: str, *, t0: float = 1.0, step: float = 0.14, flush: bool = True) -> list[dict]:
    asm = DtmfCallerIdAssembler()
    events = []
    for i, ch in enumerate(text):
        events += asm.on_digit(ch, t0 + i * step, t0 + i * step + 0.07)
    if flush:
        events += asm.flush()
    return events


def fields(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in ("type", "format", "modulation", "start",
                                                       "end")} for e in events]


@pytest.mark.parametrize("text,want", [
    ("A0401234567C", {"number": "0401234567"}),
    ("A0401234567D0509876543C", {"number": "0401234567", "redirect": "0509876543"}),
    ("A0401234567D0509876543B10C", {"number": "0401234567", "redirect": "0509876543"}),
    ("D0401234567C", {"number": "0401234567"}),
    ("0401234567#", {"number": "0401234567"}),
    ("A0401234567#", {"number": "0401234567"}),
    ("B00C", {"reason": "unavailable"}),
    ("B10C", {"reason": "private"}),
    ("D1#", {"reason": "private"}),
    ("D2#", {"reason": "unavailable"}),
    ("D3#", {"reason": "unavailable"}),
    ("7A0401234567C", {"number": "0401234567"}),  # a stray digit before the start is skipped
])
def test_forms(text: str, want: dict[str, str]) -> None:
    events = feed(text)
    assert fields(events) == [want]
    first = next((i for i, c in enumerate(text) if c in "ABD"), 0)
    assert events[0]["start"] == pytest.approx(1.0 + first * 0.14)
    assert events[0]["end"] == pytest.approx(1.0 + (len(text) - 1) * 0.14 + 0.07)
    assert events[0]["format"] == events[0]["modulation"] == "dtmf"


def test_event_comes_at_the_terminator_without_flush() -> None:
    assert fields(feed("A0401234567C", flush=False)) == [{"number": "0401234567"}]


@pytest.mark.parametrize("text", ["12#", "A12*3C", "AC", "#", "C", "123", "*#06#", "A1C"])
def test_not_caller_id(text: str) -> None:
    # (A1C: a one-digit number is kept only when terminated; it is, so it is reported)
    events = feed(text)
    if text == "A1C":
        assert fields(events) == [{"number": "1"}]
    else:
        assert events == []


def test_silence_ends_an_unterminated_string() -> None:
    asm = DtmfCallerIdAssembler()
    for i, ch in enumerate("A0401234567"):
        assert asm.on_digit(ch, i * 0.14, i * 0.14 + 0.07) == []
    later = 10 * 0.14 + 0.07 + DTMF_DIGIT_GAP_S + 0.5
    events = asm.on_digit("5", later, later + 0.07)
    assert fields(events) == [{"number": "0401234567"}]
    assert asm.flush() == []  # the lone "5" is not caller ID


def test_bare_number_hash_typed_by_hand_is_not_caller_id() -> None:
    assert fields(feed("0401234567#", step=0.14)) == [{"number": "0401234567"}]
    assert feed("0401234567#", step=0.6) == []  # 0.53 s pauses: keypad input
    assert fields(feed("A0401234567C", step=0.6)) == [{"number": "0401234567"}]  # has a start


def test_runaway_string_is_bounded() -> None:
    asm = DtmfCallerIdAssembler()
    for i in range(5 * DTMF_MAX_DIGITS):
        asm.on_digit("5", i * 0.1, i * 0.1 + 0.05)
        assert len(asm._digits) <= DTMF_MAX_DIGITS
    assert asm.flush() == []


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("number,reason,form", [
    ("0401234567", None, "A_C"),
    (None, "private", "A_C"),
    ("0401234567", None, "D_C"),
    ("0401234567", None, "_#"),
    (None, "private", "A_#"),
])
def test_generated_audio_through_the_chain(rate: int, number: str | None, reason: str | None,
                                           form: str) -> None:
    text = dtmf_cid_string(number, reason=reason, form=form)
    pcm = pad(dtmf_signal(text, sample_rate=rate, level_dbm0=-15.0), rate)
    events = [e for e in decode(pcm, rate) if e["type"] == "caller_id"]
    want = {"number": number} if number else {"reason": reason}
    assert fields(events) == [want]
    assert events[0]["start"] == pytest.approx(0.3, abs=0.03)
