"""A +CMGS / +CMS ERROR that comes after its send timed out: matched to that send only.

The AT layer is tested over the scripted byte peer of test_protocol; the whole path
(service, store, sync events, CLI) over the product's simulator on a pty through pyserial.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from appliance.modem import protocol as protocol_mod
from appliance.modem.errors import CmsError
from appliance.modem.modem import parse_urc
from appliance.modem.protocol import AtProtocol, CommandTimeout, Urc
from appliance.sms.outbox import SmsOutbox
from appliance.sms.sender import OutboxSender
from appliance.store.db import Store
from tests.helpers import run_cli
from tests.modem.conftest import Harness
from tests.modem.test_protocol import ANSWERS, ScriptedPeer, make

NUMBER = "+358401234567"


async def _timed_out_send(proto: AtProtocol, tag: object) -> None:
    with pytest.raises(CommandTimeout) as err:
        await proto.command("AT+CMGS=5", data="0011000B", timeout=0.3, tag=tag)
    assert err.value.data_sent


def test_late_cmgs_inside_the_next_commands_answer_goes_to_the_send_in_doubt() -> None:
    async def main() -> None:
        answers = dict(ANSWERS)
        peer = ScriptedPeer(answers, chunk=3, delay=0.005)  # the loop runs between chunks
        peer.pdu_answer = None
        proto, urcs = await make(peer)
        await _timed_out_send(proto, ("msg", 1))
        assert [d.tag for d in proto.sends_in_doubt] == [("msg", 1)]
        # the late answer and its OK, then a +CMTI, land before AT+CSQ's own answer: AT+CSQ must
        # not end at the late OK
        answers["AT+CSQ"] = [b"\r\n+CMGS: 9\r\n\r\nOK\r\n", b'\r\n+CMTI: "SM",3\r\n', b"\r\n+CSQ: 17,99\r\n",
                             b"\r\nOK\r\n"]
        resp = await proto.command("AT+CSQ")
        assert resp.value("+CSQ:") == "17,99"
        late = [u for u in urcs if u.late]
        assert late == [Urc("+CMGS: 9", late=True, tag=("msg", 1))]
        assert Urc('+CMTI: "SM",3') in urcs
        event = parse_urc(late[0])
        assert (event.kind, event.reference, event.tag) == ("late_send", 9, ("msg", 1))
        assert proto.sends_in_doubt == []  # matched once, then nothing is in doubt
        await peer.close()

    asyncio.run(main())


def test_late_cms_error_while_idle_and_during_a_non_sms_command() -> None:
    async def main() -> None:
        answers = dict(ANSWERS)
        answers["AT+CSQ"] = [b"\r\n+CMS ERROR: 500\r\n", b"\r\n+CSQ: 17,99\r\n", b"\r\nOK\r\n"]
        peer = ScriptedPeer(answers, delay=0.002)
        peer.pdu_answer = None
        proto, urcs = await make(peer)
        await _timed_out_send(proto, "first")
        resp = await proto.command("AT+CSQ")  # a +CMS ERROR is no answer to AT+CSQ: the late one
        assert resp.value("+CSQ:") == "17,99"
        event = parse_urc(next(u for u in urcs if u.late))
        assert event.kind == "late_send" and event.tag == "first"
        assert isinstance(event.error, CmsError) and event.error.code == 500
        # idle: the next late error has nothing in doubt (reported with no tag, applied to nothing)
        await _timed_out_send(proto, "second")
        peer.send(b"\r\n+CMS ERROR: 38\r\n")
        await asyncio.sleep(0.2)
        assert [u.tag for u in urcs if u.late] == ["first", "second"]
        await peer.close()

    asyncio.run(main())


def test_cms_error_of_a_pending_sms_command_is_its_own_not_a_late_answer() -> None:
    async def main() -> None:
        answers = dict(ANSWERS)
        answers["AT+CMGR=1"] = [b"\r\n+CMS ERROR: 321\r\n"]
        peer = ScriptedPeer(answers, delay=0.002)
        peer.pdu_answer = None
        proto, urcs = await make(peer)
        await _timed_out_send(proto, "doubt")
        with pytest.raises(CmsError) as err:
            await proto.command("AT+CMGR=1")
        assert err.value.code == 321
        assert not [u for u in urcs if u.late]
        assert [d.tag for d in proto.sends_in_doubt] == ["doubt"]  # still waiting for its answer
        await peer.close()

    asyncio.run(main())


def test_cmgs_with_nothing_in_doubt_is_reported_untagged_and_its_ok_does_not_end_a_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        answers = dict(ANSWERS)
        answers["AT+CSQ"] = [b"\r\n+CMGS: 4\r\n\r\nOK\r\n", b"\r\n+CSQ: 20,99\r\n", b"\r\nOK\r\n"]
        peer = ScriptedPeer(answers, delay=0.002)
        proto, urcs = await make(peer)
        resp = await proto.command("AT+CSQ")
        assert resp.value("+CSQ:") == "20,99"
        assert [u for u in urcs if u.late] == [Urc("+CMGS: 4", late=True, tag=None)]
        await peer.close()

    with caplog.at_level("WARNING", logger="appliance.modem.protocol"):
        asyncio.run(main())
    assert "no send in doubt" in caplog.text


def test_the_record_of_sends_in_doubt_is_bounded_and_ends_at_the_next_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS)
        peer.pdu_answer = None
        proto, urcs = await make(peer)
        for tag in ("a", "b", "c"):
            await _timed_out_send(proto, tag)
        assert [d.tag for d in proto.sends_in_doubt] == ["c"]  # at most MAX_SENDS_IN_DOUBT: the newest
        peer.pdu_answer = b"\r\n+CMGS: 8\r\n\r\nOK\r\n"
        resp = await proto.command("AT+CMGS=5", data="0011000B", tag="d")
        assert resp.value("+CMGS:") == "8"  # a send's own answer, after its prompt: never a late one
        assert proto.sends_in_doubt == []  # the modem took the next send: "c" cannot be answered now
        peer.send(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")
        await asyncio.sleep(0.2)
        assert [u.tag for u in urcs if u.late] == [None]
        # too old: not matched
        peer.pdu_answer = None
        await _timed_out_send(proto, "e")
        monkeypatch.setattr(protocol_mod, "LATE_ANSWER_WINDOW_S", 0.0)
        await asyncio.sleep(0.05)
        peer.send(b"\r\n+CMGS: 9\r\n\r\nOK\r\n")
        await asyncio.sleep(0.2)
        assert [u.tag for u in urcs if u.late] == [None, None]
        await peer.close()

    asyncio.run(main())


# -- the whole path: simulator on a pty, the modem service, the store --------------------------------------


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.modem import modem as modem_mod
    from appliance.modem import service as service_mod

    monkeypatch.setitem(protocol_mod.COMMAND_TIMEOUTS_S, "+CMGS", 1.0)
    monkeypatch.setattr(modem_mod, "PROBE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(service_mod, "PROBE_INTERVAL_S", 0.2)


async def _send_answered_late(h: Harness, sim: Any, text: str, delay: float, *, fail: int | None = None) -> int:
    """Once the modem is up, queue ``text``; the simulator holds its +CMGS (or +CMS ERROR ``fail``)
    ``delay`` s (-1: until released). The message's id."""
    await h.until(lambda: h.service.health.state == "ok", what="up")
    sim.delay_sends.append(delay)
    if fail is not None:
        sim.fail_sends.append(fail)
    return int(h.store.call(SmsOutbox(h.store).enqueue, NUMBER, text).message_id)


def _statuses(h: Harness, message_id: int) -> list[str]:
    return [e["status"] for e in h.events("sms_status") if e.get("message_id") == message_id]


def _cli_status(tmp_path: Path, message_id: int) -> str:
    result = run_cli(tmp_path, "sms", "list", "--json", "--box", "outbox",
                     APPLIANCE_STORAGE__PATH=str(tmp_path / "appliance.db"))
    assert result.returncode == 0, result.stderr
    return str(next(r["status"] for r in json.loads(result.stdout) if r["id"] == message_id))


def test_late_cmgs_turns_unknown_into_sent_then_its_report_into_delivered(
    tmp_path: Path, sims: Any, quick: None
) -> None:
    sim = sims("sim800", auto_report=False)

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            mid = await _send_answered_late(h, sim, "late answer", 3.0)  # held beyond the 1 s timeout
            await h.until(lambda: "unknown" in _statuses(h, mid), what="unknown after the timeout")
            await h.until(lambda: h.status(mid) == "sent", what="sent on the late +CMGS")
            assert _statuses(h, mid) == ["queued", "sending", "unknown", "sent"]
            reference = h.query("SELECT reference FROM sms_parts WHERE message_id = ?", mid)[0][0]
            assert reference == sim.sent[-1].reference
            assert _cli_status(tmp_path, mid) == "sent"
            sim.status_report(reference, NUMBER)
            await h.until(lambda: h.status(mid) == "delivered", what="delivered by its report")
            assert _statuses(h, mid) == ["queued", "sending", "unknown", "sent", "delivered"]
            # the modem is fine afterwards: the next message goes as usual, nothing sent twice
            nxt = h.store.call(SmsOutbox(h.store).enqueue, NUMBER, "next one").message_id
            await h.until(lambda: h.status(nxt) == "sent", what="next sent")
            assert [s.text for s in sim.sent].count("late answer") == 1

    asyncio.run(main())


def test_late_answer_to_the_first_part_sends_only_the_rest(tmp_path: Path, sims: Any, quick: None) -> None:
    sim = sims("sim7600")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            # part 1 answered late; part 2 not tried before the timeout
            mid = await _send_answered_late(h, sim, "kaksi osaa " * 20, 3.0)
            await h.until(lambda: h.status(mid) == "delivered", what="the rest sent, both parts delivered")
            assert _statuses(h, mid)[:5] == ["queued", "sending", "unknown", "queued", "sending"]
            parts = [s.parts for s in sim.sent if s.recipient == NUMBER]
            assert sorted(p for p in parts if p) == [(1, 2), (2, 2)]  # each part went out once

    asyncio.run(main())


def test_late_cms_error_turns_unknown_into_failed(tmp_path: Path, sims: Any, quick: None) -> None:
    sim = sims("ec25")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            mid = await _send_answered_late(h, sim, "refused late", 3.0, fail=500)
            await h.until(lambda: h.status(mid) == "failed", what="failed on the late +CMS ERROR")
            assert _statuses(h, mid) == ["queued", "sending", "unknown", "failed"]
            error = h.query("SELECT last_error FROM sms_messages WHERE id = ?", mid)[0][0]
            assert "late answer" in error and "500" in error

    asyncio.run(main())


def test_after_a_restart_a_late_cmgs_is_ignored_and_the_report_resolves_the_unknown_message(
    tmp_path: Path, sims: Any, quick: None, caplog: pytest.LogCaptureFixture
) -> None:
    sim = sims("sim800", auto_report=False)

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            mid = await _send_answered_late(h, sim, "over a restart", -1)  # answered below, after the restart
            await h.until(lambda: h.status(mid) == "unknown", what="unknown after the timeout")
        async with Harness(tmp_path, sim.port) as h:  # the daemon restarted: nothing is in doubt now
            # "degraded" while a message is in doubt: up once the modem's state has been read
            await h.until(lambda: h.service.health.as_dict()["info"].get("registration") == "home", what="up again")
            assert h.status(mid) == "unknown"
            reference = sim.sent[-1].reference
            assert sim.release_held() == 1  # "+CMGS: <mr>", "OK" now
            await h.until(lambda: "no send in doubt" in caplog.text, what="late +CMGS seen")
            assert h.status(mid) == "unknown"  # applied to nothing
            sim.status_report(reference, NUMBER)
            await h.until(lambda: h.status(mid) == "delivered", what="resolved by its delivery report")
            assert _statuses(h, mid)[-2:] == ["unknown", "delivered"]

    with caplog.at_level("INFO"):
        asyncio.run(main())


# -- the store side -------------------------------------------------------------------------------------


def _unknown_message(store: Store, text: str, parts: int = 1) -> int:
    sender = OutboxSender(store)
    mid = store.call(SmsOutbox(store).enqueue, NUMBER, text).message_id
    assert store.call(sender.mark_sending, mid, parts, 7)
    store.call(sender.in_doubt, mid, "no answer")
    return mid


def _status(store: Store, mid: int) -> str:
    return str(store.call(lambda: store.conn.execute("SELECT status FROM sms_messages WHERE id = ?", (mid,))
                          .fetchone()[0]))


def test_late_answer_applies_only_to_a_message_still_unknown(store: Store) -> None:
    sender = OutboxSender(store)
    mid = _unknown_message(store, "retried by hand")
    store.call(lambda: store.conn.execute("UPDATE sms_messages SET status = 'queued' WHERE id = ?", (mid,)))
    assert store.call(lambda: sender.late_answer(mid, 1, reference=5, error=None)) is None
    assert _status(store, mid) == "queued"


def test_late_answer_for_a_first_part_sends_the_rest(store: Store) -> None:
    sender = OutboxSender(store)
    mid = _unknown_message(store, "two parts", parts=2)
    assert store.call(lambda: sender.late_answer(mid, 1, reference=5, error=None)) == "queued"
    due = [d for d in store.call(sender.claim_due) if d.id == mid]
    assert due and due[0].sent_parts == frozenset({1}) and due[0].concat_ref == 7


def test_after_a_restart_a_report_resolves_the_one_unknown_message_to_its_number(store: Store) -> None:
    sender = OutboxSender(store)
    mid = _unknown_message(store, "in doubt over a restart")
    match = store.call(sender.apply_report, 42, "0401234567", "delivered", 0)
    assert match is not None and match.message_id == mid and match.message_status == "delivered"
    assert _status(store, mid) == "delivered"
    # two unknown messages to the same number: a report cannot tell which; none is touched
    a = _unknown_message(store, "a")
    b = _unknown_message(store, "b")
    assert store.call(sender.apply_report, 43, NUMBER, "delivered", 0) is None
    assert (_status(store, a), _status(store, b)) == ("unknown", "unknown")
