"""Receiving: de-duplication, multipart timeout, a full SIM store drained, delete only after commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.modem import service as service_mod
from tests.modem.conftest import Harness

INBOX = "SELECT number, text, parts, incomplete FROM sms_messages WHERE box = 'inbox' ORDER BY id"


def test_duplicates_are_stored_once(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim7600")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            when = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
            sim.inject_sms("+358401111111", "kaksi osaa " * 20, duplicate=True, timestamp=when)
            sim.inject_sms("+358401111111", "yksi", timestamp=when)
            await h.until(lambda: len(h.query(INBOX)) == 2 and not sim.stored(), what="two messages")
            sim.inject_sms("+358401111111", "yksi", timestamp=when)  # the same message again, later
            await asyncio.sleep(0.5)
            await h.until(lambda: not sim.stored(), what="duplicate deleted too")
            rows = h.query(INBOX)
            assert [r[1] for r in rows] == ["kaksi osaa " * 20, "yksi"]
            assert len(h.events("sms_in")) == 2

    asyncio.run(main())


def test_multipart_with_a_missing_part_is_stored_incomplete(
    tmp_path: Path, sims: Any, quick_housekeeping: None
) -> None:
    sim = sims("ec25")

    async def main() -> None:
        async with Harness(tmp_path, sim.port, multipart_timeout=timedelta(seconds=1)) as h:
            parts = sim.inject_sms("+358402222222", "osa " * 120, omit=[2])
            assert parts == 4
            await h.until(lambda: len(h.query(INBOX)) == 1, what="incomplete message")
            number, text, total, incomplete = h.query(INBOX)[0]
            assert (number, total, incomplete) == ("+358402222222", 4, 1)
            assert "[…]" in text and text.startswith("osa ")
            event = h.events("sms_in")[0]
            assert event["incomplete"] is True and event["parts"] == 4

    asyncio.run(main())


def test_full_store_is_drained_and_held_messages_arrive(tmp_path: Path, sims: Any) -> None:
    sim = sims("huawei")  # 10 SIM slots
    sim.fill_store("SM")
    sim.inject_sms("+358403333333", "held by the network while the SIM is full")
    assert sim.state()["network_queue"] == 1

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            await h.until(lambda: len(h.query(INBOX)) == 11, what="drained plus the held one")
            await h.until(lambda: not sim.stored(), what="SIM emptied")
            assert h.query(INBOX)[-1][1] == "held by the network while the SIM is full"

    asyncio.run(main())


def test_message_deleted_from_sim_only_after_commit(tmp_path: Path, sims: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_mod, "INBOX_POLL_S", 0.5)
    sim = sims("sim800")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            await h.until(lambda: h.service.health.state == "ok", what="up")
            h.store.call(lambda: h.store.conn.execute("PRAGMA query_only = ON"))  # every write now fails
            sim.inject_sms("+358404444444", "must not be lost")
            await asyncio.sleep(1.5)  # +CMTI read, commit refused, and a poll or two
            assert len(sim.stored()) == 1  # still on the SIM
            h.store.call(lambda: h.store.conn.execute("PRAGMA query_only = OFF"))
            await h.until(lambda: len(h.query(INBOX)) == 1 and not sim.stored(), what="stored, then deleted")

    asyncio.run(main())


def test_direct_cmt_is_acknowledged_after_commit(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim7600")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            await h.until(lambda: h.service.health.state == "ok", what="up")
            sim._state.cnmi = (2, 2, 0, 1, 0)  # the modem switched to direct delivery (+CMT, +CDS)
            sim.inject_sms("+358405555555", "direct " * 30)
            await h.until(lambda: len(h.query(INBOX)) == 1, what="direct message")
            await h.until(lambda: not sim._state.awaiting_cnma, what="AT+CNMA sent")
            assert not sim.stored()

    asyncio.run(main())
