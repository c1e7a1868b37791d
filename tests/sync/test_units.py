"""Small pure parts: reconnect back-off, envelope round trip, topic names."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.sync.backoff import RECONNECT_JITTER, Backoff
from sync.envelope import EnvelopeError, Topics, decode, encode, make, peek_id


def test_backoff_doubles_to_its_cap_with_bounded_jitter_and_resets() -> None:
    backoff = Backoff(first=1.0, cap=8.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [1, 2, 4, 8, 8, 8, 8, 8]
    for delay, base in zip(delays, bases, strict=True):
        assert base * (1 - RECONNECT_JITTER) <= delay <= base * (1 + RECONNECT_JITTER)
    assert len({round(d, 6) for d in delays[3:]}) > 1, "jitter spreads equal delays"
    backoff.reset()
    assert backoff.next_delay() <= 1.0 * (1 + RECONNECT_JITTER)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(
    stream=st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True),
    seq=st.integers(1, 2**53 - 1),
    data=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_envelopes_survive_encode_and_decode(stream: str, seq: int, data: dict) -> None:
    env = make(stream, "site-1", seq, data)
    decoded = decode(encode(env), direction="x", expect_site="site-1", expect_type=stream)
    assert decoded.as_dict() == env


def test_topics() -> None:
    t = Topics("lab/v1", "helsinki-lab-3")
    assert t.up("sms_status") == "lab/v1/helsinki-lab-3/up/sms_status"
    assert t.down_all == "lab/v1/helsinki-lab-3/down/#"
    assert t.status == "lab/v1/helsinki-lab-3/status"
    assert t.split("lab/v1/helsinki-lab-3/down/ack") == ("helsinki-lab-3", "down", "ack")
    assert t.split("other/v1/x/down/ack") is None
    assert t.split("lab/v1/x/sideways/ack") is None


def test_an_oversized_payload_is_refused_naming_its_top_level_id() -> None:
    inner = b'{"v":1,"data":{"id":"inner","x":[1,{"id":2}]},"id":"outer","pad":"'
    payload = inner + b"x" * (1024 * 1024) + b'"}'
    try:
        decode(payload, direction="down")
    except EnvelopeError as err:
        assert err.envelope_id == "outer"
        assert "bytes" in err.reason
    else:
        raise AssertionError("a 1 MB payload was accepted")


def test_peek_id_is_bounded_and_reads_only_the_top_level() -> None:
    assert peek_id(b' {"id" : "a\\"b"}') == 'a"b'
    assert peek_id(b'{"s":"id","id":"ok"}') == "ok"  # a value "id" is not a key
    assert peek_id(b'["id","x"]') is None
    assert peek_id(b'{"data":{"id":"inner"}}') is None
    assert peek_id(b'{"pad":"' + b"x" * 70_000 + b'","id":"late"}') is None  # beyond the scan limit
    assert peek_id(b'{"id":"' + b"x" * 200 + b'"}') is None  # longer than an id may be
    assert peek_id(b'{"id":') is None
