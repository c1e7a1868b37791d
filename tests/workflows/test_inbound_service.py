"""The ``inbound`` daemon part: woken by the receiver's commit, routes at once, tells the bus."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.daemon.context import AppContext
from appliance.inbound import service as inbound_service
from appliance.inbound.service import InboundService
from appliance.sms.pdu import SmsDeliver, decode_pdu, encode_deliver
from appliance.sms.receiver import InboxReceiver
from appliance.store.db import Store
from tests.workflows.conftest import run_async


def test_a_received_complaint_is_routed_at_once_and_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound_service, "POLL_S", 3600.0)  # only the receiver's wake-up can make it look
    config = load_config(None, {"APPLIANCE_STORAGE__PATH": str(tmp_path / "a.db"), "APPLIANCE_SITE__NAME": "Lab 3"})
    store = Store.open(config.db_path)

    async def main() -> list[tuple[str, dict]]:
        loop = asyncio.get_running_loop()
        ctx = AppContext(config=config, store=store)
        ctx.wakeups.bind(loop)
        ctx.bus.bind(loop)
        store.on_commit_signal = ctx.wakeups.notify
        service = InboundService(ctx)
        task = asyncio.create_task(service.run())
        got: list[tuple[str, dict]] = []
        try:
            async with ctx.bus.subscribe({"sms_in", "complaint"}) as sub:
                await asyncio.sleep(0.2)  # the first empty round is done: now it waits for a wake-up
                (pdu,) = encode_deliver("+358401234567", "Complaint: long queue", datetime.now(UTC))
                msg = decode_pdu(pdu, with_smsc=True)
                assert isinstance(msg, SmsDeliver)
                await store.run(InboxReceiver(store).store_part, msg)
                while len(got) < 2:
                    event = await sub.get(timeout=30)
                    assert event is not None
                    got.append((event.topic, event.data))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return got

    try:
        events = run_async(main)
    finally:
        store.close()
    assert events[0] == ("sms_in", {"message_id": 1, "handled_as": "complaint"})
    assert events[1][0] == "complaint" and events[1][1]["status"] == "received"
    assert events[1][1]["reference"].startswith("C-")
