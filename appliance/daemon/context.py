"""What the wiring hands every part: config, store, outbox, metrics, wake-ups and the live bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from appliance.bus import Bus
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
    bus: Bus = field(default_factory=Bus)

    @property
    def outbox(self) -> EventOutbox:
        return EventOutbox(self.store)
