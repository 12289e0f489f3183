"""Who may poll a WAHA server: one watcher per server across every backend worker.

- `LocalLease`: always held (one process, no Redis): the process's single engine polls.
- `RedisLease`: `SET key token NX PX ttl` to take it, a compare-and-PEXPIRE (Lua) to
  renew it on every tick, a compare-and-DEL (Lua) to release it on stop. If the holder
  dies, the key expires after `ttl` and another worker takes over.

`acquire()` both takes and renews: call it before each tick; it answers whether this
process holds the lease now. A Redis hiccup keeps a lease we held until its TTL would
have run out (never longer), so a blip does not stop all polling, and never makes two
pollers for longer than one TTL.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger("wahaweb.core.live")

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def server_key(base_url: str) -> str:
    """A short stable key for a WAHA server (same on every worker), without its URL in clear."""
    return hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]


class WatcherLease(Protocol):
    name: str

    async def acquire(self) -> bool: ...

    async def release(self) -> None: ...

    async def aclose(self) -> None: ...

    @property
    def held(self) -> bool: ...


class LocalLease:
    """In-process: the one engine of this process always holds it."""

    def __init__(self, name: str = "local") -> None:
        self.name = name
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self) -> bool:
        self._held = True
        return True

    async def release(self) -> None:
        self._held = False

    async def aclose(self) -> None:
        self._held = False


class RedisLease:
    """A lease in Redis shared by every worker; `ttl` seconds unless renewed."""

    def __init__(self, client: Any, key: str, *, ttl: float = 15.0, owner: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic, own_client: bool = False) -> None:
        self.client = client
        self.key = key
        self.name = key
        self.ttl = ttl
        # Host and process first: an operator (and the multi-worker test) can tell which worker polls.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.monotonic = monotonic
        self._own_client = own_client
        self._held = False
        self._valid_until = 0.0
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, key: str, **kwargs: Any) -> RedisLease:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        return cls(client, key, own_client=True, **kwargs)

    @property
    def held(self) -> bool:
        return self._held and self.monotonic() < self._valid_until

    async def acquire(self) -> bool:
        ttl_ms = max(1, int(self.ttl * 1000))
        started = self.monotonic()
        try:
            if self._held and await self._renew(keys=[self.key], args=[self.owner, ttl_ms]):
                self._valid_until = started + self.ttl
                return True
            got = await self.client.set(self.key, self.owner, nx=True, px=ttl_ms)
        except Exception as exc:  # noqa: BLE001 - Redis down: keep what we had, until it would expire
            still = self.held
            logger.warning("watcher lease %s: Redis error (%s: %s); %s", self.key, type(exc).__name__, exc,
                           "keeping the lease until its TTL" if still else "not polling")
            self._held = still
            return still
        if got:
            if not self._held:
                logger.info("watcher lease %s taken by %s", self.key, self.owner[:8])
            self._held = True
            self._valid_until = started + self.ttl
            return True
        if self._held:
            logger.warning("watcher lease %s lost to another worker", self.key)
        self._held = False
        return False

    async def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            await self._release(keys=[self.key], args=[self.owner])
        except Exception as exc:  # noqa: BLE001
            logger.warning("watcher lease %s: could not release (%s); it expires in %.0f s",
                           self.key, exc, self.ttl)

    async def aclose(self) -> None:
        await self.release()
        if self._own_client:
            await self.client.aclose()


def make_lease(redis_url: str | None, server: str, *, prefix: str = "wahaweb", ttl: float = 15.0,
               client: Any = None) -> WatcherLease:
    """A Redis lease `{prefix}:watcher:{server}` when Redis is configured, else a local one."""
    if client is not None:
        return RedisLease(client, f"{prefix}:watcher:{server}", ttl=ttl)
    if redis_url:
        return RedisLease.from_url(redis_url, f"{prefix}:watcher:{server}", ttl=ttl)
    return LocalLease(f"local:{server}")
