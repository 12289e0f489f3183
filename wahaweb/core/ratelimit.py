"""Per-user moving-window rate limits on top of the `limits` library.

The storages of `limits` read `time.time()` themselves; wahaweb's storages take
the timestamp from an injected clock instead, so tests move time by hand:

- `ClockedMemoryStorage`: a subclass of `limits.aio.storage.MemoryStorage`
  whose moving-window methods use the clock (one process; the default).
- `ClockedRedisStorage`: a subclass of `limits.aio.storage.RedisStorage`
  (redis-py) that runs the library's own moving-window Lua scripts with the
  clock's timestamp, so every worker and tab shares the same window. Keys are
  prefixed (`{prefix}:...`) so installs, and tests, can share one Redis.

`RateLimiter.hit(limit, identity)` consumes one unit or raises
`RateLimited(limit, retry_after_seconds)`. If the storage itself fails (Redis
down), the limits fail open and the failure is logged at ERROR.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from limits.limits import RateLimitItem
from redis.asyncio import Redis, RedisCluster

from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.errors import RateLimited

logger = logging.getLogger("wahaweb.core.ratelimit")


class ClockedMemoryStorage(MemoryStorage):
    """In-process moving windows whose time comes from `clock`."""

    def __init__(self, clock: Clock = utcnow) -> None:
        super().__init__()
        self._clock = clock
        self._windows: dict[str, list[float]] = {}  # newest first
        self._window_locks: dict[str, asyncio.Lock] = {}

    def _now(self) -> float:
        return self._clock().timestamp()

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        lock = self._window_locks.setdefault(key, asyncio.Lock())
        async with lock:
            now = self._now()
            entries = self._windows.setdefault(key, [])
            # The entry that would fall out of the window once `amount` more are in.
            # Same rule as the library's storages: an entry at or after now - expiry is in the window.
            if len(entries) > limit - amount and entries[limit - amount] >= now - expiry:
                return False
            entries[:0] = [now] * amount
            del entries[limit:]
            return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._now()
        in_window = [t for t in self._windows.get(key, []) if t >= now - expiry]
        if not in_window:
            return now, 0
        return in_window[-1], len(in_window)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        await super().clear(key)

    async def reset(self) -> int | None:
        count = len(self._windows)
        self._windows.clear()
        return count


class ClockedRedisStorage(RedisStorage):
    """Moving windows in Redis (shared by every process), time from `clock`."""

    def __init__(self, uri: str, *, clock: Clock = utcnow, key_prefix: str = "wahaweb:ratelimit", **options) -> None:
        if uri.startswith(("redis://", "rediss://", "unix://")):
            uri = "async+" + uri
        super().__init__(uri, implementation="redispy", key_prefix=key_prefix, **options)
        self._clock = clock

    def _now(self) -> float:
        return self._clock().timestamp()

    @property
    def _redispy(self) -> RedispyBridge:
        """The storage's bridge, always redis-py's (`implementation="redispy"` above)."""
        bridge = self.bridge
        assert isinstance(bridge, RedispyBridge)
        return bridge

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        bridge = self._redispy
        acquired = await bridge.lua_acquire_moving_window(
            [bridge.prefixed_key(key)], [self._now(), limit, expiry, amount]
        )
        return bool(acquired)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        bridge = self._redispy
        now = self._now()
        window = await bridge.lua_moving_window(
            [bridge.prefixed_key(key)], [now - expiry, limit]
        )
        if window:
            return float(window[0]), int(window[1])
        return now, 0

    async def aclose(self) -> None:
        conn = self._redispy.get_connection()
        # limits types it as its own client protocol, which has no aclose(); redis-py makes one of these.
        assert isinstance(conn, (Redis, RedisCluster))
        await conn.aclose()


@dataclasses.dataclass(frozen=True)
class RateLimits:
    """The limits in force (moving windows, per user unless noted)."""

    create: str = "5/minute"
    status: str = "30/minute"
    qr: str = "10/minute"
    pairing_code: str = "5/minute"
    #: Start, restart, stop, log out, delete, simulated scan: each costs WAHA work (a restart
    #: takes seconds there), so one user cannot make wahaweb hammer WAHA.
    action: str = "30/minute"
    #: Sign-in attempts per account, counted before the password is checked (so concurrent
    #: guesses cannot all be judged); a successful sign-in clears it.
    sign_in: str = "5/15 minutes"
    #: Sign-in attempts per client (IP), all counted: wide enough for an office behind one
    #: NAT, narrow enough that one client cannot spray passwords across many accounts.
    sign_in_client: str = "20/15 minutes"
    #: New accounts per client: each account brings its own plan slot.
    sign_up: str = "5/hour"

    @classmethod
    def unlimited(cls) -> RateLimits:
        big = "1000000/second"
        return cls(create=big, status=big, qr=big, pairing_code=big, action=big, sign_in=big,
                   sign_in_client=big, sign_up=big)


class RateLimiter:
    """Moving-window limits keyed by (limit name, identity)."""

    def __init__(self, storage: MemoryStorage | RedisStorage, limits: RateLimits | None = None, *,
                 clock: Clock = utcnow, on_refused: Callable[[str], None] | None = None) -> None:
        self.storage = storage
        #: Told the name of every refusal (metrics), before RateLimited is raised.
        self.on_refused = on_refused
        self.limits = limits or RateLimits()
        self.clock = clock
        self._strategy = MovingWindowRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {}
        for field in dataclasses.fields(self.limits):
            self._items[field.name] = parse(getattr(self.limits, field.name))

    @classmethod
    def memory(cls, limits: RateLimits | None = None, *, clock: Clock = utcnow,
               on_refused: Callable[[str], None] | None = None) -> RateLimiter:
        return cls(ClockedMemoryStorage(clock), limits, clock=clock, on_refused=on_refused)

    @classmethod
    def redis(cls, url: str, limits: RateLimits | None = None, *, clock: Clock = utcnow,
              prefix: str = "wahaweb", timeout: float = 2.0,
              on_refused: Callable[[str], None] | None = None) -> RateLimiter:
        storage = ClockedRedisStorage(url, clock=clock, key_prefix=f"{prefix}:ratelimit",
                                      socket_connect_timeout=timeout, socket_timeout=timeout)
        return cls(storage, limits, clock=clock, on_refused=on_refused)

    def item(self, limit: str) -> RateLimitItem:
        return self._items[limit]

    async def retry_after(self, limit: str, identity: str) -> float:
        """Seconds until one more hit of `limit` is allowed for `identity` (0 if allowed now)."""
        item = self._items[limit]
        stats = await self._strategy.get_window_stats(item, limit, identity)
        if stats.remaining > 0:
            return 0.0
        return max(0.0, stats.reset_time - self.clock().timestamp())

    # The storage failing (Redis down) must not take the app down with it: the limits
    # fail open, loudly in the log. The plan limit does not depend on them (it is in the DB).
    async def check(self, limit: str, identity: str, *, name: str | None = None) -> None:
        """Raise RateLimited if `identity` has used up `limit`, without consuming."""
        item = self._items[limit]
        try:
            allowed = await self._strategy.test(item, limit, identity)
        except Exception:  # noqa: BLE001
            logger.exception("rate limit storage failed (check %s); allowing", limit)
            return
        if not allowed:
            raise self._refused(name or limit, await self._retry_seconds(limit, identity))

    async def hit(self, limit: str, identity: str, *, name: str | None = None) -> None:
        """Consume one unit of `limit` for `identity`, or raise RateLimited with the wait."""
        item = self._items[limit]
        try:
            allowed = await self._strategy.hit(item, limit, identity)
        except Exception:  # noqa: BLE001
            logger.exception("rate limit storage failed (hit %s); allowing", limit)
            return
        if not allowed:
            raise self._refused(name or limit, await self._retry_seconds(limit, identity))

    async def record(self, limit: str, identity: str) -> None:
        """Consume one unit without raising (e.g. count a failed sign-in)."""
        try:
            await self._strategy.hit(self._items[limit], limit, identity)
        except Exception:  # noqa: BLE001
            logger.exception("rate limit storage failed (record %s)", limit)

    async def clear(self, limit: str, identity: str) -> None:
        try:
            await self._strategy.clear(self._items[limit], limit, identity)
        except Exception:  # noqa: BLE001
            logger.exception("rate limit storage failed (clear %s)", limit)

    def _refused(self, name: str, retry_after: float) -> RateLimited:
        if self.on_refused is not None:
            self.on_refused(name)
        return RateLimited(name, retry_after)

    async def _retry_seconds(self, limit: str, identity: str) -> float:
        try:
            return max(1.0, math.ceil(await self.retry_after(limit, identity)))
        except Exception:  # noqa: BLE001
            return float(self._items[limit].get_expiry())

    async def aclose(self) -> None:
        closer = getattr(self.storage, "aclose", None)
        if closer is not None:
            await closer()


__all__ = ["ClockedMemoryStorage", "ClockedRedisStorage", "RateLimiter", "RateLimits"]
