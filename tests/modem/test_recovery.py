"""A hung modem, a stuck prompt and an unplugged port are recovered without restarting anything."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from appliance.modem import modem as modem_mod
from appliance.modem import protocol as protocol_mod
from appliance.modem import service as service_mod
from appliance.sms.outbox import SmsOutbox
from tests.modem.conftest import Harness


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recovery ladder with test-sized timeouts (the constants are the knobs)."""
    monkeypatch.setattr(protocol_mod, "DEFAULT_TIMEOUT_S", 1.0)
    monkeypatch.setattr(protocol_mod, "PROMPT_TIMEOUT_S", 1.0)
    monkeypatch.setitem(protocol_mod.COMMAND_TIMEOUTS_S, "+CMGS", 2.0)
    monkeypatch.setattr(modem_mod, "PROBE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(modem_mod, "RESET_SETTLE_S", 0.5)
    monkeypatch.setattr(service_mod, "PROBE_INTERVAL_S", 0.2)
    monkeypatch.setattr(service_mod, "REOPEN_BACKOFF_S", 0.2)
    monkeypatch.setattr(service_mod, "PORT_WAIT_S", 0.1)


def test_silent_hang_is_recovered_and_modem_reinitialised(tmp_path: Path, sims: Any, quick_timeouts: None) -> None:
    sim = sims("huawei")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            first = h.store.call(outbox.enqueue, "+358401234567", "before").message_id
            await h.until(lambda: h.status(first) == "delivered")
            task = h.task
            sim.hang(seconds=3.0)  # the firmware stalls, then its watchdog reboots it (CNMI lost)
            second = h.store.call(outbox.enqueue, "+358401234567", "during").message_id
            await h.until(lambda: h.service.recoveries >= 1, what="recovery started")
            await h.until(lambda: h.status(second) == "delivered", timeout=40, what="sent after recovery")
            assert h.task is task and not task.done()  # the same service run: nothing restarted
            assert [s.text for s in sim.sent].count("during") == 1  # never sent twice
            sim.inject_sms("+358409999999", "after the reboot")  # +CMTI works again: re-initialised
            await h.until(
                lambda: h.query("SELECT COUNT(*) FROM sms_messages WHERE box='inbox'")[0][0] == 1,
                timeout=10,
                what="received after recovery",
            )
            await h.until(lambda: h.service.health.state == "ok", what="healthy again")

    asyncio.run(main())


def test_stuck_prompt_is_cleared_with_ctrl_z(tmp_path: Path, sims: Any, quick_timeouts: None) -> None:
    sim = sims("sim800")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            await h.until(lambda: h.service.health.state == "ok", what="up")
            sim.hang(mode="prompt")  # the modem still waits for a PDU: every command vanishes into it
            h.ctx.wakeups.notify("sms_outbox")
            mid = h.store.call(outbox.enqueue, "+358401234567", "after ctrl-z").message_id
            await h.until(lambda: h.status(mid) == "delivered", timeout=40, what="sent after Ctrl-Z")
            assert h.service.recoveries >= 1

    asyncio.run(main())


def test_unplugged_port_is_waited_for_and_resumed(tmp_path: Path, sims: Any, quick_timeouts: None) -> None:
    link = tmp_path / "ttyUSB-modem"
    sim = sims("ec25", link=link)

    async def main() -> None:
        async with Harness(tmp_path, str(link)) as h:
            outbox = SmsOutbox(h.store)
            await h.until(lambda: h.service.health.state == "ok", what="up")
            sim.unplug()
            await h.until(
                lambda: (
                    (h.service.health.state == "failed" and "gone" in h.service.health.detail)
                    or "not present" in h.service.health.detail
                ),
                what="port gone reported",
            )
            mid = h.store.call(outbox.enqueue, "+358401234567", "after replug").message_id
            await asyncio.sleep(0.5)
            assert h.status(mid) == "queued"
            sim.replug()
            await h.until(lambda: h.status(mid) == "delivered", timeout=30, what="sent after replug")
            assert not h.task.done()  # type: ignore[union-attr]

    asyncio.run(main())


def test_sim_pin_entered_once_and_wrong_pin_never_retried(
    tmp_path: Path, sims: Any, quick_timeouts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(modem_mod, "PIN_SETTLE_S", 0.1)
    monkeypatch.setattr(service_mod, "SIM_LOCKED_RETRY_S", 0.2)
    good = sims("sim800", pin="4321")
    bad = sims("sim800", pin="4321")

    async def main() -> None:
        async with Harness(tmp_path / "good", good.port, pin="4321") as h:
            await h.until(lambda: h.service.health.state == "ok", what="unlocked")
        async with Harness(tmp_path / "bad", bad.port, pin="1111") as h:
            await h.until(lambda: h.service.health.state == "failed" and "SIM" in h.service.health.detail)
            await asyncio.sleep(1.0)
            assert bad._state.pin_tries == 2  # one wrong try only: the SIM is not locked to PUK

    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    asyncio.run(main())


def test_long_silence_climbs_the_ladder_to_reset_and_reopen(
    tmp_path: Path, sims: Any, quick_timeouts: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service_mod, "PROBE_ATTEMPTS", 2)
    monkeypatch.setitem(protocol_mod.COMMAND_TIMEOUTS_S, "+CFUN", 1.0)
    sim = sims("sim7600")

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            await h.until(lambda: h.service.health.state == "ok", what="up")
            sim.hang(seconds=12.0)
            mid = h.store.call(SmsOutbox(h.store).enqueue, "+358401234567", "after a long stall").message_id
            await h.until(lambda: h.status(mid) == "delivered", timeout=60, what="sent after the stall")
            assert h.service.recoveries >= 4

    with caplog.at_level("WARNING", logger="appliance.modem.service"):
        asyncio.run(main())
    text = caplog.text
    assert "AT+CFUN=1,1" in text and "reopening the port" in text


def test_modem_that_hangs_after_n_commands(tmp_path: Path, sims: Any, quick_timeouts: None) -> None:
    sim = sims("ec25", hang_after=40, hang_seconds=2.0)  # dies mid-conversation, watchdog reboots it

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            outbox = SmsOutbox(h.store)
            ids = [h.store.call(outbox.enqueue, "+358401234567", f"n{i}").message_id for i in range(12)]
            await h.until(
                lambda: all(h.status(i) in ("delivered", "unknown") for i in ids), timeout=60, what="all settled"
            )
            statuses = [h.status(i) for i in ids]
            sent_texts = [s.text for s in sim.sent]
            assert len(sent_texts) == len(set(sent_texts))  # nothing sent twice
            # a message is unknown only if its PDU went out unanswered; all others were delivered
            assert statuses.count("unknown") <= 1 and h.service.recoveries >= 1

    asyncio.run(main())
