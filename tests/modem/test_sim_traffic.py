"""The simulated modem's patients writing by themselves (``modem.sim_random_sms_per_hour``)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from appliance import sim_traffic
from appliance.modem.simulator import MAX_RANDOM_SMS_PER_HOUR
from tests.modem.conftest import Harness

INBOX = "SELECT number, text FROM sms_messages WHERE box = 'inbox' ORDER BY id"


def test_the_cast_writes_every_kind_of_message_by_weight() -> None:
    rng = random.Random(7)
    seen = Counter(sim_traffic.pick(rng)[1] for _ in range(5000))
    assert set(seen) == {text for _, text, _ in sim_traffic.MESSAGES}
    assert seen["Kiitos, sain tulokset."] > 3 * seen["HELP"]
    delays = [sim_traffic.next_delay(rng, 60) for _ in range(5000)]
    assert 50 < sum(delays) / len(delays) < 70  # 60 an hour: a minute apart on average


def test_random_messages_arrive_through_the_port_and_stop_when_asked(tmp_path: Path, sims: Any) -> None:
    sim = sims("sim800", random_sms_per_hour=MAX_RANDOM_SMS_PER_HOUR)

    async def main() -> None:
        async with Harness(tmp_path, sim.port) as h:
            await h.until(lambda: len(h.query(INBOX)) >= 3, what="three messages from the cast")
            cast = {(sender, text) for sender, text, _ in sim_traffic.MESSAGES}
            assert set(h.query(INBOX)) <= cast
            assert sim.control({"op": "random_sms", "per_hour": 0}) == {"ok": True, "per_hour": 0.0}
            written = sim.random_sms_sent
            await asyncio.sleep(3)  # at 1/s, a stream still running would add ~3 here
            assert sim.random_sms_sent == written
            await h.until(lambda: len(h.query(INBOX)) == written, what="every written message stored")

    asyncio.run(main())


def test_a_rate_over_the_bound_is_refused_by_name(sims: Any) -> None:
    sim = sims("sim800")
    answer = sim.control({"op": "random_sms", "per_hour": MAX_RANDOM_SMS_PER_HOUR + 1})
    assert answer["ok"] is False and "per_hour must be 0-3600" in answer["error"]
    assert sim.control({"op": "random_sms", "per_hour": "many"})["ok"] is False
    assert sim.random_sms_per_hour == 0
    time.sleep(0.2)
    assert sim.random_sms_sent == 0
