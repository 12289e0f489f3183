"""The watcher lease: one poller per WAHA server across workers (Redis), always held without Redis."""

from __future__ import annotations

import pytest

from tests.conftest import redis_test_prefix
from tests.timing import eventually
from wahaweb.core.live import LocalLease, RedisLease, StatusEngine, make_lease, server_key


async def test_local_lease_is_always_granted():
    lease = make_lease(None, "srv")
    assert isinstance(lease, LocalLease)
    assert await lease.acquire() and lease.held
    await lease.release()
    assert not lease.held


def test_server_key_is_stable_and_hides_the_url():
    assert server_key("http://waha:3000/") == server_key("http://waha:3000")
    assert "waha" not in server_key("http://waha:3000")


@pytest.fixture
async def redis_client(redis_url):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_redis_lease_take_renew_release_and_takeover(redis_client):
    key = f"{redis_test_prefix()}:watcher:srv"
    clock = [0.0]
    a = RedisLease(redis_client, key, ttl=0.3, monotonic=lambda: clock[0])
    b = RedisLease(redis_client, key, ttl=0.3, monotonic=lambda: clock[0])
    assert await a.acquire() is True
    assert await b.acquire() is False
    assert await a.acquire() is True  # renewal
    assert await redis_client.get(key) == a.owner.encode()
    await a.release()
    assert await redis_client.get(key) is None
    assert await b.acquire() is True
    # b dies without releasing: the key expires after its TTL and a takes over.
    await eventually(a.acquire, what="a takes over once b's lease expired")  # Redis's own TTL: real time
    # b does not delete a's lease on its way out (compare-and-delete).
    b._held = True
    await b.release()
    assert await redis_client.get(key) == a.owner.encode()
    await a.release()


@pytest.mark.redis
async def test_two_workers_over_redis_one_watcher_polls(make_env, redis_url, redis_client):
    """Two backend workers (two Cores and engines) over one Redis, one WAHA: one poller."""
    prefix = redis_test_prefix()
    first = await make_env(webhooks=False, redis_url=redis_url, engine_kwargs={"redis_prefix": prefix})
    # The second worker: same WAHA (the same simulator), same database, same Redis.
    second = await make_env(webhooks=False, redis_url=redis_url, sim=first.sim,
                            database_url=str(first.core.db.engine.url), route=False,
                            engine_kwargs={"redis_prefix": prefix})
    user = await first.user("alice@example.com")
    sid = (await first.core.sessions.create(user)).id
    assert await first.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    first.sim.clear_requests()
    reports = []
    for _ in range(6):
        reports.append((await first.engine.tick(), await second.engine.tick()))
    assert first.list_calls() == 6  # one list call per tick in total, not per worker
    assert [bool(r1.polled) for r1, _ in reports] == [True] * 6
    assert [bool(r2.polled) for _, r2 in reports] == [False] * 6
    assert all(r2.skipped for _, r2 in reports)
    assert await first.row(sid) is not None and (await first.row(sid)).status == "pairing"
    # The poller stops (its worker shuts down): the other takes over at its next tick.
    await first.engine.stop()
    report = await second.engine.tick()
    assert report.polled and not report.skipped
    report = await first.engine.tick()
    assert report.skipped and not report.polled
    assert first.list_calls() == 7


@pytest.mark.redis
async def test_engine_from_core_uses_redis_only_when_configured(make_env, redis_url):
    plain = await make_env(webhooks=False)
    assert isinstance(plain.engine.servers[0].lease, LocalLease)
    redis_env = await make_env(webhooks=False, redis_url=redis_url, engine_kwargs={"redis_prefix": redis_test_prefix()})
    lease = redis_env.engine.servers[0].lease
    assert isinstance(lease, RedisLease) and lease.key.endswith(server_key("http://waha.test"))
    assert isinstance(redis_env.engine, StatusEngine)
