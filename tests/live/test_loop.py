"""The background loop: pace, waking up for new work, surviving errors, stopping cleanly.

The loop's pacing runs on a `LoopClock` (its `sleep` and `monotonic`), moved by hand and
only while the loop is parked: what these tests say about intervals holds on the fake time
line, however slow the machine (or a second suite running beside this one).
"""

from __future__ import annotations

import pytest

from tests.timing import LoopClock, eventually
from wahaweb.waha.errors import WahaError


@pytest.fixture
def loop_clock() -> LoopClock:
    return LoopClock()


def paced(clock: LoopClock, **intervals: float) -> dict:
    return {"sleep": clock.sleep, "monotonic": clock.monotonic, **intervals}


async def test_loop_follows_a_session_from_start_to_connected_and_stops(make_env, loop_clock):
    env = await make_env(webhooks=False, qr_delay=0.02,
                         engine_kwargs=paced(loop_clock, fast_interval=0.02, slow_interval=0.5))
    user = await env.user("alice@example.com")
    task = env.engine.start()
    assert env.engine.start() is task  # idempotent
    sid = (await env.core.sessions.create(user)).id

    async def status_is(expected):
        return (await env.row(sid)).status == expected

    ticking = dict(clock=loop_clock, step=0.02, within=0.5)
    await eventually(lambda: status_is("pairing"), **ticking, what="pairing")
    await eventually(lambda: env.engine.current_qr(sid) is not None, **ticking, what="a QR")
    env.sim.scan(sid)
    await eventually(lambda: status_is("connected"), **ticking, what="connected")
    # The row is written first and announced after: beside another suite the check above could see
    # the row before the push reached the recorder (['pairing', 'pairing'], seen once).
    await eventually(lambda: env.recorder.statuses(sid)[-1:] == ["connected"], **ticking, what="the push")
    assert env.recorder.statuses(sid)[-2:] == ["pairing", "connected"]
    await env.engine.stop()
    assert task.done() and not env.engine.running
    ticks = env.engine.ticks
    loop_clock.advance(60)  # a minute of the loop's time: a stopped loop does not tick
    await loop_clock.settle()
    assert env.engine.ticks == ticks


async def test_slow_loop_notices_new_work_from_the_database_without_waiting_for_the_slow_tick(make_env, loop_clock):
    """A session created by another worker (no wake()) is picked up at the probe pace, not after 30 s."""
    env = await make_env(webhooks=False, qr_delay=0.02,
                         engine_kwargs=paced(loop_clock, fast_interval=0.02, slow_interval=30.0, probe_interval=0.05))
    user = await env.user("alice@example.com")
    env.engine.start()
    # Parked in the slow pause, probing the database every 0.05 s of its time.
    await eventually(lambda: env.engine.ticks >= 1 and loop_clock.parked(within=0.05), what="the first tick")
    assert env.engine.interval == 30.0
    sid = (await env.core.sessions.create(user)).id
    created_at = loop_clock.now

    async def pairing():
        return (await env.row(sid)).status == "pairing"

    # The clock moves 0.05 s at a time, and only while the loop waits for it: a loop that
    # waited for its slow tick would need 30 s of it.
    await eventually(pairing, clock=loop_clock, step=0.05, within=0.05, what="pairing")
    assert loop_clock.now - created_at < 15.0
    await env.engine.stop()


async def test_wake_ticks_at_once(make_env, loop_clock):
    env = await make_env(webhooks=False, engine_kwargs=paced(loop_clock, fast_interval=30.0, slow_interval=30.0))
    env.engine.start()
    await eventually(lambda: env.engine.ticks >= 1 and loop_clock.parked(within=30.0), what="the first tick")
    env.engine.wake()
    await eventually(lambda: env.engine.ticks >= 2, what="a tick after wake()")
    assert loop_clock.now == 0.0  # not a moment of the loop's time passed: the wake did it
    await env.engine.stop()


async def test_loop_survives_a_failing_tick(make_env, monkeypatch, loop_clock):
    env = await make_env(webhooks=False, engine_kwargs=paced(loop_clock, fast_interval=0.01, slow_interval=0.01))
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
    await eventually(lambda: calls["n"] >= 4, clock=loop_clock, step=0.01, within=0.01, what="four ticks")
    assert env.engine.running
    await env.engine.stop()
