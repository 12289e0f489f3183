"""Rate limits at their boundaries, with a controllable clock (no sleeps), memory and Redis."""

from __future__ import annotations

import pytest

from wahaweb.core.clock import FakeClock
from wahaweb.core.errors import RateLimited
from wahaweb.core.ratelimit import RateLimiter, RateLimits

from .conftest import embedded_settings, reach, register


async def _limiter_boundaries(limiter: RateLimiter, clock: FakeClock) -> None:
    # Moving window, 5 a minute: hits at t=0,10,20,30,40.
    for _ in range(5):
        await limiter.hit("create", "user:1")
        clock.advance(10)
    # t=50: full; the oldest hit (t=0) leaves the window after t=60.
    with pytest.raises(RateLimited) as info:
        await limiter.hit("create", "user:1")
    assert info.value.name == "create"
    assert info.value.retry_after_seconds == 10
    clock.advance(10)  # t=60: still inside (the window includes its edge)
    with pytest.raises(RateLimited):
        await limiter.hit("create", "user:1")
    clock.advance(0.5)
    await limiter.hit("create", "user:1")  # the t=0 hit has left
    with pytest.raises(RateLimited) as info:  # t=60.5: next to leave is t=10
        await limiter.hit("create", "user:1")
    assert info.value.retry_after_seconds == 10  # ceil(9.5)
    # Other users and other limits are separate.
    await limiter.hit("create", "user:2")
    await limiter.hit("status", "user:1")
    # check() does not consume.
    for _ in range(3):
        await limiter.check("status", "user:3")
    assert await limiter.retry_after("status", "user:3") == 0


async def test_memory_moving_window_boundaries():
    clock = FakeClock()
    await _limiter_boundaries(RateLimiter.memory(clock=clock), clock)


@pytest.mark.redis
async def test_redis_moving_window_boundaries(redis_url, redis_prefix):
    clock = FakeClock()
    limiter = RateLimiter.redis(redis_url, clock=clock, prefix=redis_prefix)
    try:
        await _limiter_boundaries(limiter, clock)
    finally:
        await limiter.aclose()


def test_refusal_message_names_the_limit_and_the_wait():
    exc = RateLimited("create", 41.2)
    assert exc.retry_after_seconds == 42
    assert str(exc) == "Too many session creations. Please wait 42 seconds and try again."
    assert str(RateLimited("qr", 0.2)) == "Too many QR code requests. Please wait 1 second and try again."


async def test_sixth_create_in_a_minute_is_refused_then_allowed(make_core, sqlite_url, clock):
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    user = await register(core, "creator@example.com", plan="Enterprise")
    for _ in range(5):
        await core.sessions.create(user)
    clock.advance(30)
    with pytest.raises(RateLimited) as info:
        await core.sessions.create(user)
    assert info.value.name == "create"
    assert info.value.retry_after_seconds == 30
    assert "30 seconds" in str(info.value)
    assert len(await core.sessions.of_user(user)) == 5  # the refusal reserved nothing
    clock.advance(30.001)
    await core.sessions.create(user)
    assert len(await core.sessions.of_user(user)) == 6
    refused = [e for e in await core.audit.recent(50, action="create") if e.outcome == "refused"]
    assert len(refused) == 1 and "Please wait 30 seconds" in refused[0].detail


async def test_thirty_first_status_check_is_refused_then_allowed(make_core, sqlite_url, clock):
    core = await make_core(embedded_settings(sqlite_url))
    user = await register(core, "status@example.com")
    row = await core.sessions.create(user)
    for _ in range(30):
        await core.sessions.status(user, row.id)
        clock.advance(1)
    with pytest.raises(RateLimited) as info:
        await core.sessions.status(user, row.id)
    assert info.value.name == "status"
    assert info.value.retry_after_seconds == 30
    clock.advance(30.001)
    await core.sessions.status(user, row.id)


async def test_eleventh_qr_in_a_minute_is_refused_then_allowed(make_core, sqlite_url, clock):
    core = await make_core(embedded_settings(sqlite_url, sim_time_scale=1.0))  # QR lives 60 s: no rotation
    user = await register(core, "qr@example.com")
    row = await core.sessions.create(user)
    await reach(core, user, row.id, "SCAN_QR_CODE")
    for _ in range(10):
        assert (await core.sessions.qr(user, row.id)).data_url.startswith("data:image/svg+xml,")
    with pytest.raises(RateLimited) as info:
        await core.sessions.qr(user, row.id)
    assert info.value.name == "qr"
    assert info.value.retry_after_seconds == 60
    clock.advance(60.001)
    await core.sessions.qr(user, row.id)


async def test_limits_are_per_user(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com", plan="Pro")
    bob = await register(core, "bob@example.com", plan="Pro")
    for _ in range(5):
        await core.sessions.create(alice)
    with pytest.raises(RateLimited):
        await core.sessions.create(alice)
    await core.sessions.create(bob)


@pytest.mark.redis
async def test_limit_shared_by_two_service_instances_over_redis(make_core, sqlite_url, clock, redis_url, redis_prefix):
    """Two workers (two Cores, one database, one Redis): five creates in total, whichever serves them."""
    settings = embedded_settings(sqlite_url, redis_url=redis_url)
    one = await make_core(settings, redis_prefix=redis_prefix)
    two = await make_core(settings, redis_prefix=redis_prefix)
    await register(one, "admin@example.com")
    user = await register(one, "busy@example.com", plan="Enterprise")
    for core in (one, two, one, two, one):
        await core.sessions.create(user)
    for core in (two, one):
        with pytest.raises(RateLimited) as info:
            await core.sessions.create(user)
        assert info.value.retry_after_seconds == 60
    # A third instance with another prefix (another install, or another test) is not affected.
    other = await make_core(settings, redis_prefix=redis_prefix + "-other")
    await other.sessions.create(user)
    clock.advance(60.001)
    await two.sessions.create(user)
    conn = one.limiter.storage.bridge.get_connection()
    assert [k async for k in conn.scan_iter(f"{redis_prefix}:ratelimit:*")], "keys carry the prefix"


async def test_unlimited_preset():
    limiter = RateLimiter.memory(RateLimits.unlimited(), clock=FakeClock())
    for _ in range(100):
        await limiter.hit("create", "user:1")


async def test_unreachable_redis_fails_open_and_logs(caplog):
    limiter = RateLimiter.redis("redis://127.0.0.1:1/0", clock=FakeClock(), prefix="nowhere", timeout=0.5)
    try:
        for _ in range(10):  # more than the limit: nothing is counted, nothing refused
            await limiter.hit("create", "user:1")
        await limiter.check("sign_in", "account:x")
        await limiter.record("sign_in", "account:x")
        await limiter.clear("sign_in", "account:x")
    finally:
        await limiter.aclose()
    assert any("rate limit storage failed" in r.getMessage() for r in caplog.records)
