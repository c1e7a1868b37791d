"""The live bus: delivery by topic, bounded queues that drop the oldest, thread safety."""

from __future__ import annotations

import asyncio
import threading

import pytest

from appliance.bus import MAX_SUBSCRIBERS, SUBSCRIBER_QUEUE_BOUND, Bus, BusFull


def test_delivers_by_topic_and_drops_oldest_when_full() -> None:
    async def main() -> None:
        bus = Bus()
        bus.bind(asyncio.get_running_loop())
        async with bus.subscribe({"caller_pop"}) as pops, bus.subscribe() as everything:
            bus.publish("sms_in", {"message_id": 1})
            for i in range(SUBSCRIBER_QUEUE_BOUND + 10):
                bus.publish("caller_pop", {"n": i})
            first = await pops.get(timeout=1)
            assert first is not None and first.data == {"n": 10} and first.dropped == 10
            other = await everything.get(timeout=1)
            assert other is not None and other.topic == "caller_pop" and other.dropped == 11
            for _ in range(SUBSCRIBER_QUEUE_BOUND - 1):
                assert await pops.get(timeout=1) is not None
            assert await pops.get(timeout=0.05) is None
        assert bus.subscriber_count == 0

    asyncio.run(main())


def test_publish_from_another_thread() -> None:
    async def main() -> None:
        bus = Bus()
        bus.bind(asyncio.get_running_loop())
        async with bus.subscribe({"t"}) as sub:
            worker = threading.Thread(target=bus.publish, args=("t", {"x": 1}))
            worker.start()
            event = await sub.get(timeout=2)
            worker.join()
            assert event is not None and event.data == {"x": 1}

    asyncio.run(main())


def test_subscriber_bound() -> None:
    async def main() -> None:
        bus = Bus()
        bus.bind(asyncio.get_running_loop())
        held = []
        for _ in range(MAX_SUBSCRIBERS):
            cm = bus.subscribe()
            await cm.__aenter__()
            held.append(cm)
        with pytest.raises(BusFull):
            async with bus.subscribe():
                pass
        for cm in held:
            await cm.__aexit__(None, None, None)
        assert bus.subscriber_count == 0

    asyncio.run(main())
