"""What the wiring hands every part: config, store, outbox, metrics and wake-ups."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from appliance.config import Config
from appliance.daemon.wakeups import Wakeups
from appliance.store.db import Store
from appliance.store.outbox import EventOutbox


@dataclass
class AppContext:
    """The daemon's shared parts. Built once in ``appliance.daemon.app``; no globals."""

    config: Config
    store: Store
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    wakeups: Wakeups = field(default_factory=Wakeups)

    @property
    def outbox(self) -> EventOutbox:
        return EventOutbox(self.store)
