"""Reconnect back-off with jitter.

Why jitter: after a broker restart every site of a lab network reconnects at
once; spreading them out keeps the cluster from being flattened by its own
clients (the "thundering herd"). Why a cap: a site that was offline for days
must not wait hours once the link is back.
"""

from __future__ import annotations

import random

RECONNECT_FIRST_S = 1.0  # first retry after a lost connection
RECONNECT_MAX_S = 60.0  # never wait longer than this between tries
RECONNECT_FACTOR = 2.0
RECONNECT_JITTER = 0.3  # each delay is spread by +-30 %


class Backoff:
    """Delays 1, 2, 4, ... up to a cap, each spread by a random jitter; ``reset()`` on success."""

    def __init__(
        self,
        first: float = RECONNECT_FIRST_S,
        cap: float = RECONNECT_MAX_S,
        factor: float = RECONNECT_FACTOR,
        jitter: float = RECONNECT_JITTER,
        rng: random.Random | None = None,
    ) -> None:
        self.first, self.cap, self.factor, self.jitter = first, cap, factor, jitter
        self._rng = rng or random.Random()
        self._next = first
        self.attempts = 0

    def next_delay(self) -> float:
        base = self._next
        self._next = min(self._next * self.factor, self.cap)
        self.attempts += 1
        spread = base * self.jitter
        return max(0.05, base + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        self._next = self.first
        self.attempts = 0
