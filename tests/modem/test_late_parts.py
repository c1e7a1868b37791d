"""A multipart part that arrives after its message was stored incomplete completes that message.

End to end through the simulator on a pty (a part the network holds past the reassembly
timeout, duplicated), and on the store: routing not run twice (a complaint gets the whole
text), the time and size bounds of the lookup, a reused reference not taken for a late part.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.inbound.router import Router
from appliance.notifications.requests import NotificationSettings
from appliance.sms import receiver as receiver_mod
from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver
from appliance.sms.receiver import InboxReceiver
from appliance.store.db import Store
from tests.modem.conftest import Harness

NUMBER = "+358402222222"
LONG = "".join(f"osa{i:03d} " for i in range(80))  # 560 characters: 4 parts, each text distinct
INBOX = "SELECT id, text, parts, incomplete FROM sms_messages WHERE box = 'inbox' ORDER BY id"
SETTINGS = NotificationSettings(
    country="FI", timezone="Europe/Helsinki", lab_name="Lab 3", quiet_hours="", guardian_age=15,
    help_text="Call 09 123 4567.",
)


def test_late_part_from_the_simulator_completes_the_stored_message_once(
    tmp_path: Path, sims: Any, quick_housekeeping: None
) -> None:
    sim = sims("ec25")

    async def main() -> None:
        async with Harness(tmp_path, sim.port, multipart_timeout=timedelta(seconds=1)) as h:
            # part 3 is held by the network past the reassembly timeout; every part comes twice
            assert sim.inject_sms(NUMBER, LONG, late=[3], duplicate=True) == 4
            await h.until(lambda: len(h.query(INBOX)) == 1, what="stored incomplete")
            mid, text, parts, incomplete = h.query(INBOX)[0]
            assert (parts, incomplete) == (4, 1) and "[…]" in text
            assert sim.release_held() == 2  # the late part, twice
            await h.until(lambda: h.query(INBOX)[0][3] == 0, what="completed by the late part")
            await h.until(lambda: not sim.stored(), what="both copies deleted from the SIM")
            assert h.query(INBOX) == [(mid, LONG, 4, 0)]  # one message, the text once, in order
            assert h.query("SELECT COUNT(*) FROM sms_in_parts WHERE message_id = ?", mid) == [(4,)]
            first, second = h.events("sms_in")
            assert first["message_id"] == second["message_id"] == mid
            assert first["incomplete"] is True and "updated" not in first
            assert second["incomplete"] is False and second["updated"] is True and second["text"] == LONG
            assert second["received_at"] == first["received_at"] and second["parts_received"] == 4

    asyncio.run(main())


# -- the store side -------------------------------------------------------------------------------------

WHEN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _parts(text: str, ref: int, when: datetime = WHEN, number: str = NUMBER) -> list[SmsDeliver]:
    out = []
    for pdu in encode_deliver(number, text, when, concat_ref=ref):
        msg = decode_pdu(pdu, with_smsc=True)
        assert isinstance(msg, SmsDeliver)
        out.append(msg)
    return out


def _stored_incomplete(receiver: InboxReceiver, parts: list[SmsDeliver], missing: set[int]) -> int:
    for msg in parts:
        if msg.concat and msg.concat.seq not in missing:
            receiver.store_part(msg)
    (mid,) = receiver.flush_stale(datetime.now(UTC) + timedelta(hours=2))
    return mid


def _inbox(store: Store) -> list[tuple[Any, ...]]:
    return store.conn.execute(INBOX).fetchall()


def _events(store: Store, stream: str) -> list[dict[str, Any]]:
    return [json.loads(d) for (d,) in store.conn.execute("SELECT data FROM events WHERE stream = ? ORDER BY seq",
                                                          (stream,))]


def test_complaint_opened_on_the_partial_text_gets_the_whole_text_and_routing_runs_once(store: Store) -> None:
    receiver, router = InboxReceiver(store, "FI"), Router(SETTINGS)
    text = "VALITUS " + LONG
    parts = _parts(text, 21)
    mid = _stored_incomplete(receiver, parts, {len(parts)})
    handled = router.route(store, mid)
    assert handled is not None and handled.kind == "complaint"
    (reference, partial) = store.conn.execute("SELECT reference, text FROM complaints").fetchone()
    assert "[…]" in partial
    outbox_before = store.conn.execute("SELECT COUNT(*) FROM sms_messages WHERE box = 'outbox'").fetchone()
    assert receiver.store_part(parts[-1]).message_id == mid
    assert router.route(store, mid) is None  # routed once only
    assert router.route_pending(store) == []
    assert store.conn.execute("SELECT reference, text FROM complaints").fetchall() == [(reference, LONG.strip())]
    opened, completed = _events(store, "complaint")
    assert completed["update"] is True and completed["reference"] == reference and completed["text"] == LONG.strip()
    assert "[…]" in opened["text"]
    assert len(store.conn.execute("SELECT * FROM sms_inbound_routes").fetchall()) == 1
    # no second acknowledgement SMS or anything else sent
    assert store.conn.execute("SELECT COUNT(*) FROM sms_messages WHERE box = 'outbox'").fetchone() == outbox_before


@pytest.mark.parametrize(("head", "taken_as"), [("VALITUS ", "complaint"), ("STOP. ", "opt_out")])
def test_a_late_first_part_with_a_keyword_routes_the_whole_message_again(
    store: Store, head: str, taken_as: str
) -> None:
    """The partial text (no first part) was a plain message: nothing was acted on, so the whole text is routed."""
    from appliance.consent.core import is_opted_out

    receiver, router = InboxReceiver(store, "FI"), Router(SETTINGS)
    parts = _parts(head + LONG, 55)
    mid = _stored_incomplete(receiver, parts, {1})
    handled = router.route(store, mid)
    assert handled is not None and handled.kind == "sms_in"
    assert receiver.store_part(parts[0]).message_id == mid
    [(routed_mid, again)] = router.route_pending(store)
    assert routed_mid == mid and again.kind == taken_as
    assert store.conn.execute("SELECT handled_as FROM sms_inbound_routes WHERE message_id = ?", (mid,)).fetchall() == [
        (taken_as,)]
    if taken_as == "complaint":
        assert store.conn.execute("SELECT text FROM complaints").fetchall() == [(LONG.strip(),)]
    else:
        assert is_opted_out(store, NUMBER)
    assert router.route_pending(store) == []  # once


def test_an_opt_out_in_a_late_first_part_is_honoured_after_a_survey_answer(store: Store) -> None:
    """An opt-out is honoured whatever the partial text was taken as (here: not a plain message)."""
    from appliance.consent.core import is_opted_out
    from appliance.inbound.router import Handled

    receiver, router = InboxReceiver(store, "FI"), Router(SETTINGS)
    router.add_hook("takes_all", lambda _s, _settings, _m: Handled("survey", "taken by a hook"))
    parts = _parts("STOP. " + LONG, 56)
    mid = _stored_incomplete(receiver, parts, {1})
    assert (handled := router.route(store, mid)) is not None and handled.kind == "survey"
    receiver.store_part(parts[0])
    [(_, again)] = router.route_pending(store)
    assert again.kind == "opt_out" and is_opted_out(store, NUMBER)


def test_late_part_after_the_window_is_kept_as_its_own_message(store: Store) -> None:
    receiver = InboxReceiver(store, "FI")
    parts = _parts(LONG, 33)
    mid = _stored_incomplete(receiver, parts, {2})
    old = (datetime.now(UTC) - receiver_mod.LATE_PART_WINDOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.conn.execute("UPDATE sms_in_parts SET received_at = ? WHERE message_id = ?", (old, mid))
    assert receiver.store_part(parts[1]).message_id is None  # waits like any part: nothing matched
    (late_mid,) = receiver.flush_stale(datetime.now(UTC) + timedelta(hours=2))
    rows = _inbox(store)
    assert [(r[0], r[3]) for r in rows] == [(mid, 1), (late_mid, 1)]
    assert parts[1].text in rows[1][1]  # nothing lost


def test_lookup_looks_at_a_bounded_number_of_candidates(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receiver_mod, "LATE_PART_CANDIDATES", 1)
    receiver = InboxReceiver(store, "FI")
    parts = _parts(LONG, 44)
    lacks_2 = _stored_incomplete(receiver, parts, {2})
    # a newer incomplete message with the same sender, reference and total, stamped a minute
    # later, which has part 2 (lacks_2 is hidden while it is stored, or it would take that part)
    store.conn.execute("UPDATE sms_messages SET incomplete = 0 WHERE id = ?", (lacks_2,))
    lacks_3 = _stored_incomplete(receiver, _parts(LONG.upper(), 44, WHEN + timedelta(minutes=1)), {3})
    store.conn.execute("UPDATE sms_messages SET incomplete = 1 WHERE id = ?", (lacks_2,))
    assert lacks_3 > lacks_2
    assert receiver.store_part(parts[1]).message_id is None  # only the newest candidate was looked at
    monkeypatch.setattr(receiver_mod, "LATE_PART_CANDIDATES", 8)
    dup_of_2 = _parts(LONG, 44, WHEN + timedelta(seconds=5))[1]  # the network's retry: its own stamp
    assert receiver.store_part(dup_of_2).message_id == lacks_2
    assert _inbox(store)[0][1] == LONG


def test_reused_reference_days_later_is_not_a_late_part(store: Store) -> None:
    receiver = InboxReceiver(store, "FI")
    mid = _stored_incomplete(receiver, _parts(LONG, 55), {2})
    later = _parts(LONG.upper(), 55, WHEN + timedelta(days=1))  # a new message reusing reference 55
    assert receiver.store_part(later[1]).message_id is None
    assert _inbox(store)[0][0] == mid and _inbox(store)[0][3] == 1


def test_the_same_late_part_twice_adds_its_text_once(store: Store) -> None:
    receiver = InboxReceiver(store, "FI")
    parts = _parts(LONG, 66)
    mid = _stored_incomplete(receiver, parts, {2, 3})
    assert receiver.store_part(parts[1]).message_id == mid
    assert receiver.store_part(parts[1]).duplicate
    text, incomplete = store.conn.execute("SELECT text, incomplete FROM sms_messages WHERE id = ?", (mid,)).fetchone()
    assert incomplete == 1 and text.count(parts[1].text) == 1 and text.count("[…]") == 1
    assert receiver.store_part(parts[2]).message_id == mid
    assert _inbox(store) == [(mid, LONG, 4, 0)]
    assert [e.get("parts_received") for e in _events(store, "sms_in")] == [None, 3, 4]


def test_simulator_control_delivers_a_part_late_on_its_timer(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim800")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            answer = sim.control({"op": "inject_sms", "sender": NUMBER, "text": LONG, "late": [2],
                                  "late_delay_s": 0.5})
            assert answer == {"ok": True, "parts": 4}
            # within the (default, one hour) reassembly timeout the late part simply completes it
            await h.until(lambda: h.query(INBOX) and h.query(INBOX)[0][3] == 0, what="assembled")
            assert h.query(INBOX)[0][1] == LONG and len(h.events("sms_in")) == 1

    asyncio.run(main())
