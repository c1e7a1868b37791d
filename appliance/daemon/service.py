"""What a supervised part of the daemon is: a long-running coroutine with a health.

A part (modem, line, sync, web) subclasses :class:`Service`::

    class ModemService(Service):
        name = "modem"

        async def run(self) -> None:
            ...                        # open the port, loop forever
            self.set_health("ok", "registered, signal 17", signal=17)

        async def stop(self) -> None:
            ...                        # finish or park the work in hand, quickly

``run`` runs until cancelled; raising from it reports a failure and the
supervisor restarts it with back-off, without touching the other parts.
``stop`` is called first on shutdown (SIGTERM), with a few seconds to park work
safely, then ``run`` is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.store.db import utcnow

HEALTH_STATES = ("starting", "ok", "degraded", "failed", "stopped")


@dataclass
class Health:
    """A part's health as shown by ``appliance status`` and the status page."""

    state: str = "starting"
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    since: str = field(default_factory=utcnow)
    restarts: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "detail": self.detail,
            "info": self.info,
            "since": self.since,
            "restarts": self.restarts,
            "last_error": self.last_error,
        }


HealthListener = Callable[[str, Health], None]


class Service:
    """Base of every supervised part. Subclasses set ``name`` and implement ``run``."""

    name = "service"

    def __init__(self) -> None:
        self.health = Health()
        self._listeners: list[HealthListener] = []

    def add_health_listener(self, listener: HealthListener) -> None:
        self._listeners.append(listener)

    def set_health(self, state: str, detail: str = "", **info: Any) -> None:
        """Report this part's state; listeners (store, metrics, page) hear of changes."""
        if state not in HEALTH_STATES:
            raise ValueError(f"unknown health state {state!r}")
        changed = (state, detail, info) != (self.health.state, self.health.detail, self.health.info)
        if state != self.health.state:
            self.health.since = utcnow()
        self.health.state, self.health.detail, self.health.info = state, detail, info
        if changed:
            for listener in self._listeners:
                listener(self.name, self.health)

    async def run(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Park the work in hand before ``run`` is cancelled (default: nothing to park)."""
