"""The background loop: pace, waking up for new work, surviving errors, stopping cleanly."""

from __future__ import annotations

import asyncio

from wahaweb.waha.errors import WahaError


async def _wait_for(predicate, timeout: float = 30.0) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await predicate():
        assert loop.time() - started < timeout, "timed out"
        await asyncio.sleep(0.01)
    return loop.time() - started


async def test_loop_follows_a_session_from_start_to_connected_and_stops(make_env):
    env = await make_env(webhooks=False, qr_delay=0.02, engine_kwargs={"fast_interval": 0.02, "slow_interval": 0.5})
    user = await env.user("alice@example.com")
    task = env.engine.start()
    assert env.engine.start() is task  # idempotent
    sid = (await env.core.sessions.create(user)).id

    async def status_is(expected):
        return (await env.row(sid)).status == expected

    await _wait_for(lambda: status_is("pairing"))
    await _wait_for(lambda: _true(env.engine.current_qr(sid) is not None))
    env.sim.scan(sid)
    await _wait_for(lambda: status_is("connected"))
    assert env.recorder.statuses(sid)[-2:] == ["pairing", "connected"]
    await env.engine.stop()
    assert task.done() and not env.engine.running
    ticks = env.engine.ticks
    await asyncio.sleep(0.1)
    assert env.engine.ticks == ticks


async def _true(value):
    return value


async def test_slow_loop_notices_new_work_from_the_database_without_waiting_for_the_slow_tick(make_env):
    """A session created by another worker (no wake()) is picked up at the probe pace, not after 30 s."""
    env = await make_env(webhooks=False, qr_delay=0.02,
                         engine_kwargs={"fast_interval": 0.02, "slow_interval": 30.0, "probe_interval": 0.05})
    user = await env.user("alice@example.com")
    env.engine.start()
    await _wait_for(lambda: _true(env.engine.ticks >= 1))
    await asyncio.sleep(0.05)
    assert env.engine.interval == 30.0
    sid = (await env.core.sessions.create(user)).id

    async def pairing():
        return (await env.row(sid)).status == "pairing"

    # Half the slow interval is a bound no loaded machine reaches; a loop that waited for the
    # slow tick would take the whole 30 s.
    elapsed = await _wait_for(pairing, timeout=15.0)
    assert elapsed < 15.0
    await env.engine.stop()


async def test_wake_ticks_at_once(make_env):
    env = await make_env(webhooks=False, engine_kwargs={"fast_interval": 30.0, "slow_interval": 30.0})
    env.engine.start()
    await _wait_for(lambda: _true(env.engine.ticks >= 1))
    env.engine.wake()
    await _wait_for(lambda: _true(env.engine.ticks >= 2), timeout=1.0)
    await env.engine.stop()


async def test_loop_survives_a_failing_tick(make_env, monkeypatch):
    env = await make_env(webhooks=False, engine_kwargs={"fast_interval": 0.01, "slow_interval": 0.01})
    calls = {"n": 0}
    real = env.core.waha.list_sessions

    async def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug, not a WAHA error")
        if calls["n"] == 2:
            raise WahaError("WAHA hiccup")
        return await real(*args, **kwargs)

    monkeypatch.setattr(env.core.waha, "list_sessions", flaky)
    env.engine.start()
    await _wait_for(lambda: _true(calls["n"] >= 4))
    assert env.engine.running
    await env.engine.stop()
