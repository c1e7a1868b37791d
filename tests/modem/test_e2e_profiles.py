"""End to end through a pty: the modem service against the simulator, for every family profile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from appliance.sms.outbox import SmsOutbox
from tests.modem.conftest import PROFILES, Harness

TEXTS = {
    "gsm7": "Results ready @ lab: 10€ {fee} ^_^ [ok] ~ \\ |",
    "long": "Muistutus: " + "ajanvaraus huomenna klo 9.00, tuo henkilöllisyystodistus. " * 6,
    "ucs2": "检查结果已出 ✅ 请来取 🧪👍 " * 3,
}


@pytest.mark.parametrize("profile", PROFILES)
def test_send_deliver_and_receive(tmp_path: Path, sims: Any, profile: str) -> None:
    sim = sims(profile)

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            ids = {
                k: h.store.call(outbox.enqueue, "+358401234567", t, notification_id=f"n-{k}").message_id
                for k, t in TEXTS.items()
            }
            await h.until(lambda: all(h.status(i) == "delivered" for i in ids.values()), what="delivered")
            # what the modem was asked to send, decoded by the simulator's codec, joins to the text
            for key, text in TEXTS.items():
                got = "".join(s.text for s in sim.sent if s.text and _belongs(s, text))
                assert got == text, key
            long_parts = [s for s in sim.sent if s.parts and s.parts[1] > 1]
            assert {s.concat_ref for s in long_parts if _belongs(s, TEXTS["long"])} == {ids["long"] % 256}
            events = [e for e in h.events("sms_status") if e["message_id"] == ids["long"]]
            assert [e["status"] for e in events] == ["queued", "sending", "sent", "delivered"]
            assert events[-1]["notification_id"] == "n-long" and events[-1]["parts"] == 3
            parts = h.query("SELECT status, reference FROM sms_parts WHERE message_id = ?", ids["long"])
            assert [p[0] for p in parts] == ["delivered"] * 3

            # incoming: multipart in GSM-7, UCS-2 (parts out of order), and a 16-bit reference
            incoming = [
                ("+358409876543", "Kiitos! " + "Vastaus kyselyyn: 5 " * 12, {}),
                ("+46701234567", "谢谢你们的服务，结果很清楚。" * 10, {"order": [3, 1, 2]}),  # noqa: RUF001
                ("+358501112223", "STOP " * 50, {"concat_16bit": True}),
            ]
            for sender, text, kw in incoming:
                sim.inject_sms(sender, text, **kw)
            await h.until(
                lambda: len(h.query("SELECT id FROM sms_messages WHERE box='inbox'")) == 3, what="three received"
            )
            rows = h.query(
                "SELECT number, text, parts, incomplete, status FROM sms_messages WHERE box='inbox' ORDER BY id"
            )
            assert sorted((r[0], r[1]) for r in rows) == sorted((s, t) for s, t, _ in incoming)
            assert all(r[3] == 0 and r[4] == "received" for r in rows)
            events_in = h.events("sms_in")
            assert {e["text"] for e in events_in} == {t for _, t, _ in incoming}
            assert all(
                {"message_id", "number", "text", "received_at", "parts", "incomplete"} <= set(e) for e in events_in
            )
            await h.until(lambda: not sim.stored(), what="SIM store emptied")  # deleted after the commit
            health = h.service.health.as_dict()
            assert health["info"]["profile"] == profile
            assert health["info"]["sim"] == "READY" and health["info"]["registration"] == "home"

    asyncio.run(main())


def _belongs(sent: Any, text: str) -> bool:
    return bool(sent.text) and sent.text in text


def test_permanent_and_temporary_send_errors(tmp_path: Path, sims: Any) -> None:
    sim = sims("ec25")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            sim.fail_sends.extend([21])  # "short message transfer rejected": permanent
            outbox = SmsOutbox(h.store)
            bad = h.store.call(outbox.enqueue, "+358401234567", "rejected").message_id
            await h.until(lambda: h.status(bad) == "failed", what="failed")
            assert "+CMS ERROR 21" in h.query("SELECT last_error FROM sms_messages WHERE id=?", bad)[0][0]
            sim.fail_sends.extend([42])  # congestion: temporary, retried later
            temp = h.store.call(outbox.enqueue, "+358401234567", "congested").message_id
            await h.until(
                lambda: (
                    h.events("sms_status")[-1]["message_id"] == temp
                    and h.events("sms_status")[-1]["status"] == "queued"
                    and h.events("sms_status")[-1].get("error")
                ),
                what="requeued",
            )
            row = h.query("SELECT status, attempts, next_attempt_at FROM sms_messages WHERE id=?", temp)[0]
            assert row[0] == "queued" and row[1] == 1 and row[2]
            # make it due now: the retry goes through
            h.store.call(
                lambda: h.store.conn.execute("UPDATE sms_messages SET next_attempt_at = NULL WHERE id = ?", (temp,))
            )
            h.store.call(h.store.conn.commit)
            h.ctx.wakeups.notify("sms_outbox")
            await h.until(lambda: h.status(temp) == "delivered", what="retry delivered")

    asyncio.run(main())


def test_failed_delivery_report_fails_the_message(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim800")
    sim.report_status = 0x41  # "incompatible destination": permanent

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            mid = h.store.call(SmsOutbox(h.store).enqueue, "+358401234567", "x").message_id
            await h.until(lambda: h.status(mid) == "failed", what="failed by report")

    asyncio.run(main())


def test_not_before_and_expiry(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim7600")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            later = h.store.call(outbox.enqueue, "+358401234567", "later", not_before="2999-01-01T00:00:00.000Z")
            gone = h.store.call(outbox.enqueue, "+358401234567", "old", expires_at="2000-01-01T00:00:00.000Z")
            now = h.store.call(outbox.enqueue, "+358401234567", "now")
            await h.until(lambda: h.status(now.message_id) == "delivered")
            await h.until(lambda: h.status(gone.message_id) == "expired")
            assert h.status(later.message_id) == "queued"
            assert [s.text for s in sim.sent] == ["now"]

    asyncio.run(main())


@pytest.mark.parametrize("profile", ["sim800", "huawei"])
def test_garbage_from_the_modem_never_stops_the_service(tmp_path: Path, sims: Any, profile: str) -> None:
    sim = sims(profile, garbage_every=3, seed=11)  # random bytes before every third answer

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            ids = [h.store.call(outbox.enqueue, "+358401234567", f"garbage test {i}").message_id for i in range(6)]
            sim.inject_sms("+358409876543", "through the noise " * 12)
            await h.until(lambda: all(h.status(i) in ("sent", "delivered") for i in ids), timeout=60, what="sent")
            await h.until(
                lambda: len(h.query("SELECT id FROM sms_messages WHERE box='inbox'")) == 1, timeout=60, what="received"
            )
            assert not h.task.done()  # type: ignore[union-attr]

    asyncio.run(main())


def test_direct_report_without_smsc_part_is_matched(tmp_path: Path, sims: Any) -> None:
    from datetime import UTC, datetime

    from appliance.sms.pdu import encode_status_report

    sim = sims("sim7600", auto_report=False)

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            mid = h.store.call(SmsOutbox(h.store).enqueue, "+358401234567", "report me").message_id
            await h.until(lambda: h.status(mid) == "sent", what="sent")
            ref = sim.sent[-1].reference
            now = datetime.now(UTC).replace(microsecond=0)
            pdu = encode_status_report(ref, "0401234567", 0, now, now)
            tpdu = pdu[2 + 2 * int(pdu[:2], 16) :]  # as some modems send +CDS: without the SMSC part
            sim.unsolicited(f"+CDS: {len(tpdu) // 2}", tpdu)
            await h.until(lambda: h.status(mid) == "delivered", what="delivered by a bare +CDS")

    asyncio.run(main())


def test_modem_that_never_answers_optional_commands(tmp_path: Path, sims: Any) -> None:
    """A minimal modem (or emulator) silent on ATI, +CSMS and +CMEE still sends and receives."""
    sim = sims("sim800", silent_commands=("I", "+CSMS", "+CMEE"))

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            message_id = h.store.call(outbox.enqueue, "+358401234567", "Tulokset valmiina").message_id
            await h.until(lambda: h.status(message_id) == "delivered", what="delivered")
            sim.inject_sms("+358409876543", "Kiitos")
            await h.until(
                lambda: len(h.query("SELECT id FROM sms_messages WHERE box='inbox'")) == 1, what="received"
            )
            assert h.service.health.state == "ok"
            assert h.service.health.info["sim"] == "READY"

    asyncio.run(main())
