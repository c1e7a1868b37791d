"""The daemon part that routes received SMS and ends silent survey conversations.

It wakes on ``sms_in`` (the receiver's commit) and otherwise looks every few seconds,
so a message written by another process or left unrouted by a crash is found too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from appliance.daemon.service import Service
from appliance.errors import StoreError
from appliance.inbound.router import ROUTE_BATCH, WAKEUP_SMS_IN, Hook, Router
from appliance.notifications.requests import NotificationSettings
from appliance.surveys.engine import expire_sessions

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext

log = logging.getLogger(__name__)

POLL_S = 5.0
HOUSEKEEPING_S = 60.0


class InboundService(Service):
    """Routes inbound SMS through the hooks (``router.py``); expires survey sessions."""

    name = "inbound"

    def __init__(self, ctx: AppContext, extra_hooks: list[tuple[str, Hook]] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = NotificationSettings.from_config(ctx.config)
        self.router = Router(self.settings)
        for name, hook in extra_hooks or []:
            self.router.add_hook(name, hook)
        self.routed = 0

    async def run(self) -> None:
        store = self.ctx.store
        timeout = timedelta(hours=self.settings.survey_timeout_hours)
        next_house = 0.0
        self.set_health("ok", "routing inbound SMS", routed=self.routed, order=self.router.order)
        while True:
            try:
                while True:
                    done = await store.run(self.router.route_pending, store, ROUTE_BATCH)
                    for message_id, handled in done:
                        self.routed += 1
                        self.ctx.bus.publish("sms_in", {"message_id": message_id, "handled_as": handled.kind})
                    if len(done) < ROUTE_BATCH:
                        break
                if time.monotonic() >= next_house:
                    await store.run(expire_sessions, store, timeout)
                    next_house = time.monotonic() + HOUSEKEEPING_S
                if self.health.state != "ok":
                    self.set_health("ok", "routing inbound SMS", routed=self.routed, order=self.router.order)
            except StoreError as err:
                log.error("inbound routing: %s", err)
                self.set_health("degraded", f"store: {err}")
            await self.ctx.wakeups.wait(WAKEUP_SMS_IN, POLL_S)

    async def stop(self) -> None:
        await asyncio.sleep(0)
        self.set_health("stopped", "stopped")
