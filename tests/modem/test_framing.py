"""AT framing: lines, the prompt without a line end, bounds, garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.modem.framing import MAX_LINE_BYTES, AtFramer, Line, Prompt


def test_lines_split_on_cr_lf_and_empty_lines_skipped() -> None:
    framer = AtFramer()
    frames = framer.feed(b"AT+CSQ\r\r\n+CSQ: 17,99\r\n\r\nOK\r\n")
    assert frames == [Line("AT+CSQ"), Line("+CSQ: 17,99"), Line("OK")]


def test_prompt_without_newline_only_when_expected() -> None:
    framer = AtFramer()
    assert framer.feed(b"\r\n> ") == []  # not expected: stays a partial line
    framer = AtFramer()
    framer.expect_prompt = True
    assert framer.feed(b"AT+CMGS=23\r\r\n> ") == [Line("AT+CMGS=23"), Prompt()]
    assert not framer.expect_prompt


def test_prompt_split_across_reads_one_byte_at_a_time() -> None:
    framer = AtFramer()
    framer.expect_prompt = True
    frames = []
    for byte in b"\r\n> 0011\x1a\r\n+CMGS: 4\r\n":
        frames += framer.feed(bytes([byte]))
    assert frames == [Prompt(), Line("0011"), Line("+CMGS: 4")]


def test_overlong_line_dropped_and_counted_then_framing_resumes() -> None:
    framer = AtFramer(max_line=64)
    frames = framer.feed(b"X" * 1000 + b"\r\nOK\r\n")
    assert frames == [Line("OK")]
    assert framer.dropped_lines == 1
    assert len(framer.pending) == 0


def test_default_bound_is_hit_by_a_runaway_port() -> None:
    framer = AtFramer()
    for _ in range(10):
        framer.feed(b"\xff" * 1000)
        assert len(framer.pending) <= MAX_LINE_BYTES
    assert framer.dropped_lines == 1  # the rest of that line is skipped, not buffered
    assert framer.feed(b"\r\nOK\r\n") == [Line("OK")]


def test_control_bytes_and_bad_utf8_are_cleaned() -> None:
    frames = AtFramer().feed(b'\x00\x00+CMTI: "SM",3\x07\r\n\xff\xfeOK\r\n')
    assert frames[0] == Line('+CMTI: "SM",3')
    assert frames[1].text.endswith("OK")  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=30), st.booleans())
def test_any_bytes_never_crash_and_stay_bounded(chunks: list[bytes], expect: bool) -> None:
    framer = AtFramer(max_line=128)
    framer.expect_prompt = expect
    for chunk in chunks:
        for frame in framer.feed(chunk):
            assert isinstance(frame, Line | Prompt)
            if isinstance(frame, Line):
                assert frame.text and len(frame.text) <= 128
        assert len(framer.pending) <= 128
