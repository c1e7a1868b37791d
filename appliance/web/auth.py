"""Password checks off the store thread, bounded; login throttling per account and per address.

A login costs a memory-hard hash (scrypt, ~50 ms and 16 MiB). Those run in this
module's own small thread pool, never on the store thread or the event loop, and
at most ``MAX_IN_FLIGHT`` at a time: a login that finds the pool full is refused
at once (429) instead of queueing, so a flood of anonymous logins costs the
daemon two busy cores at worst and never delays /healthz, the store or the modem.
"""

from __future__ import annotations

import asyncio
import collections
import time
from concurrent.futures import ThreadPoolExecutor

from appliance.users import check_password, dummy_hash, hash_password

KDF_WORKERS = 2  # the box has 4 cores; the modem, DSP and store keep the others
MAX_IN_FLIGHT = 4  # hashes running or waiting; more are refused (LoginBusy)
ACCOUNT_FAILURES, ACCOUNT_WINDOW_S = 5, 300.0  # 5 wrong passwords per account per 5 minutes
ADDRESS_FAILURES, ADDRESS_WINDOW_S = 20, 300.0  # 20 per client address per 5 minutes
THROTTLE_KEYS = 10_000  # accounts and addresses remembered; the least recent are forgotten


class LoginBusy(Exception):
    """Too many password checks at once: answer 429 now, do not queue."""


class PasswordHasher:
    """Runs scrypt in its own bounded pool (see the module docstring)."""

    def __init__(self, workers: int = KDF_WORKERS, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kdf")
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.refused = 0

    async def _run(self, fn: object, *args: str) -> object:
        if self.in_flight >= self.max_in_flight:
            self.refused += 1
            raise LoginBusy(f"{self.in_flight} password checks already running")
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, fn, *args)  # type: ignore[arg-type]
        finally:
            self.in_flight -= 1

    async def check(self, password: str, stored: str | None) -> bool:
        """True when ``password`` matches ``stored``; an unknown user (None) costs the same."""
        ok = await self._run(check_password, password, stored if stored is not None else dummy_hash())
        return bool(ok) and stored is not None

    async def hash(self, password: str) -> str:
        return str(await self._run(hash_password, password))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Window:
    """Failure times of one key in a sliding window (bounded to ``limit`` entries)."""

    __slots__ = ("times",)

    def __init__(self, limit: int) -> None:
        self.times: collections.deque[float] = collections.deque(maxlen=limit)


class LoginThrottle:
    """Refuses logins for an account or an address after too many recent failures."""

    def __init__(
        self,
        account: tuple[int, float] = (ACCOUNT_FAILURES, ACCOUNT_WINDOW_S),
        address: tuple[int, float] = (ADDRESS_FAILURES, ADDRESS_WINDOW_S),
        max_keys: int = THROTTLE_KEYS,
    ) -> None:
        self.limits = {"account": account, "address": address}
        self.max_keys = max_keys
        self._windows: collections.OrderedDict[tuple[str, str], _Window] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def _wait(self, kind: str, key: str, now: float) -> float:
        window = self._windows.get((kind, key))
        limit, span = self.limits[kind]
        if window is None or len(window.times) < limit:
            return 0.0
        return max(0.0, window.times[0] + span - now)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds before a login for this account from this address may be tried (0: now)."""
        now = time.monotonic()
        return max(self._wait("account", username.lower(), now), self._wait("address", address, now))

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        for kind, key in (("account", username.lower()), ("address", address)):
            window = self._windows.get((kind, key))
            if window is None:
                window = self._windows[(kind, key)] = _Window(self.limits[kind][0])
                while len(self._windows) > self.max_keys:
                    self._windows.popitem(last=False)
            else:
                self._windows.move_to_end((kind, key))
            window.times.append(now)

    def succeeded(self, username: str, address: str) -> None:
        self._windows.pop(("account", username.lower()), None)
