"""The QR cache: one WAHA fetch per rotation, pushed with its rotation number and expiry."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.timing import eventually
from wahaweb.core.clock import FakeClock
from wahaweb.core.errors import InvalidState, NotFound, RateLimited
from wahaweb.core.live import QrCache, rotation_from_statuses
from wahaweb.core.ratelimit import RateLimits
from wahaweb.waha import QRImage

from .conftest import Recorder


def test_rotation_number_from_wahas_status_history():
    def hist(*statuses):
        return [{"status": s, "timestamp": i} for i, s in enumerate(statuses)]

    assert rotation_from_statuses(hist("STARTING", "SCAN_QR_CODE")) == 1
    assert rotation_from_statuses(hist("STARTING", "SCAN_QR_CODE", "SCAN_QR_CODE", "SCAN_QR_CODE")) == 3
    assert rotation_from_statuses(hist("SCAN_QR_CODE", "WORKING", "STARTING", "SCAN_QR_CODE")) == 1
    assert rotation_from_statuses(hist("STARTING")) is None
    assert rotation_from_statuses([]) is None and rotation_from_statuses(None) is None


class FakeFetch:
    """A WAHA QR endpoint under the test's control."""

    def __init__(self) -> None:
        self.value = "qr-1"
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self, session_id: str) -> QRImage:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return QRImage(mimetype="image/png", data=self.value)


async def test_qr_cache_rotation_expiry_dedupe_and_coalescing():
    clock = FakeClock()
    fetch, pushed = FakeFetch(), []

    async def on_new(state):
        pushed.append(state)

    cache = QrCache(fetch, on_new=on_new, clock=clock, lifetimes=(60, 20), max_rotations=6)
    t0 = clock()
    cache.request("s", 7, rotation=1, seen_at=t0)
    await cache.drain()
    [first] = pushed
    assert (first.rotation, first.user_id, first.data_url) == (1, 7, "data:image/png;base64,qr-1")
    assert first.expires_at == t0 + dt.timedelta(seconds=60)
    assert cache.due() == []
    clock.advance(65)
    assert cache.due() == []  # expired, but a webhook may still be on its way (10% grace)
    clock.advance(2)  # 60 s + 6 s grace passed, no webhook came: the fallback says fetch
    assert cache.due() == ["s"]
    fetch.value = "qr-2"
    cache.request("s", 7)  # rotation unknown: the next one
    await cache.drain()
    assert [p.rotation for p in pushed] == [1, 2]
    assert pushed[1].expires_at == clock() + dt.timedelta(seconds=20)
    # The same QR again: nothing pushed, and the fallback looks again a little later.
    cache.request("s", 7)
    await cache.drain()
    assert len(pushed) == 2 and fetch.calls == 3
    # Ten requests while a fetch is in flight: one more fetch afterwards, not ten.
    fetch.gate = asyncio.Event()
    fetch.value = "qr-3"
    cache.request("s", 7, rotation=3, seen_at=clock())
    await asyncio.sleep(0)
    assert cache.fetching("s")
    for _ in range(10):
        cache.request("s", 7, rotation=3, seen_at=clock())
    fetch.gate.set()
    await cache.drain()
    assert fetch.calls == 5 and [p.rotation for p in pushed] == [1, 2, 3]
    # The session leaves pairing while a fetch is in flight: its QR is not brought back.
    fetch.gate = asyncio.Event()
    fetch.value = "qr-4"
    cache.request("s", 7, rotation=4)
    await asyncio.sleep(0)
    cache.forget("s")
    fetch.gate.set()
    await cache.drain()
    assert cache.get("s") is None and len(pushed) == 3
    # Not pairing any more (WAHA answers 422 -> InvalidState): nothing cached, nothing pushed.
    fetch.gate, fetch.error = None, InvalidState("not pairing")
    cache.request("s", 7)
    await cache.drain()
    assert cache.get("s") is None and len(pushed) == 3


async def test_each_rotation_event_fetches_the_qr_once_whatever_the_number_of_tabs(make_env, clock):
    """Driven by hand: WAHA's QR lifetimes (60 s, then 20 s) pass on a fake clock, not in real time."""
    from tests.simulator.fake_clock import FakeClock

    waha_time = FakeClock()
    env = await make_env(webhooks=True, qr_delay=1.0, time_scale=1.0, sim_sleep=waha_time.sleep)
    tabs = [Recorder() for _ in range(50)]
    for tab in tabs:
        env.engine.notifier.add(tab)
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    for seconds in (1.0, 60.0, 20.0):  # boot to the first QR, then two rotations
        await waha_time.settle()
        waha_time.advance(seconds)
        clock.advance(seconds)
        await waha_time.settle()
        await env.settle()
    assert len(env.recorder.qrs(sid)) == 3
    env.sim.scan(sid)  # stop the rotations
    await env.settle()
    qrs = env.recorder.qrs(sid)
    rotations = [q.rotation for q in qrs]
    assert rotations == [1, 2, 3]
    assert len({q.data_url for q in qrs}) == len(qrs)  # each one a new QR
    # One WAHA QR fetch per rotation, not per tab.
    assert env.qr_calls() == len(qrs)
    assert env.engine.qr.fetches == len(qrs)
    for tab in tabs:
        assert [q.rotation for q in tab.qrs(sid)] == rotations
    # Expiry follows WAHA's schedule: the first 60 s, the next ones 20 s, counted from the event.
    first, second = qrs[0], qrs[1]
    assert (first.expires_at - first.fetched_at).total_seconds() == pytest.approx(60, abs=1)
    assert (second.expires_at - second.fetched_at).total_seconds() == pytest.approx(20, abs=1)
    assert first.max_rotations == 6 and first.expires_at_ms == int(first.expires_at.timestamp() * 1000)
    # QR changes go to the owner only, never to admins.
    assert all(c.notify_admins is False and c.user_id == user.id for c in env.recorder.changes if c.kind == "qr")
    # The session connected: the cache is empty.
    assert env.engine.current_qr(sid) is None
    # Ticks on top of webhooks add no QR fetch.
    before = env.qr_calls()
    for _ in range(3):
        await env.engine.tick()
    await env.engine.drain()
    assert env.qr_calls() == before


async def test_polling_fallback_refetches_after_the_estimated_expiry_only(make_env):
    """WAHA's QR timers run on a hand-moved clock: in real time at 200x its first QR lived 0.3 s,
    and beside another make test WAHA rotated before the first fetch (seen: rotations [1])."""
    from tests.simulator.fake_clock import FakeClock

    waha_time = FakeClock()
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=200.0, sim_sleep=waha_time.sleep)
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    await eventually(lambda: waha_time.sleeping > 0, what="WAHA's boot timer")
    waha_time.advance(0.01)  # boot to the first QR
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()
    await env.engine.drain()
    [first] = env.recorder.qrs(sid)
    assert first.rotation == 1 and env.sim.session(sid).qr_number == 1
    # Before the estimated expiry: ticks do not fetch again.
    await env.engine.tick()
    await env.engine.drain()
    assert env.qr_calls() == 1
    # After it: WAHA's first QR (60 s / 200) ends, and the engine's clock passes 0.3 s + grace.
    await waha_time.settle()
    waha_time.advance(0.3)
    await eventually(lambda: env.sim.session(sid).qr_number == 2, what="WAHA's second QR")
    env.clock.advance(0.4)
    await env.engine.tick()
    await env.engine.drain()
    qrs = env.recorder.qrs(sid)
    assert env.qr_calls() == 2
    assert [q.rotation for q in qrs] == [1, 2]
    assert qrs[1].data_url != qrs[0].data_url


async def test_a_refetch_that_finds_the_same_qr_pushes_nothing(make_env):
    # WAHA keeps the first QR 60 s; the engine is told it lives 0.3 s.
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0, engine_kwargs={"qr_lifetimes": (0.3, 0.1)})
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()
    await env.engine.drain()
    env.clock.advance(0.3 * 1.1 + 0.01)  # the engine's estimate (0.3 s scaled) passed; WAHA did not rotate
    await env.engine.tick()
    await env.engine.drain()
    assert env.qr_calls() == 2
    assert len(env.recorder.qrs(sid)) == 1  # same QR: not pushed again


async def test_page_open_reads_the_cache_and_shares_one_fetch(make_env):
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0)
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    # The row is still `starting` in the DB (no tick yet): no QR for a page.
    assert await env.engine.qr_for(sid) is None
    await env.engine.tick()
    await env.engine.drain()
    env.engine.qr.forget(sid)  # as if this process had never fetched it (another worker did)
    before = env.qr_calls()
    # Page loads that look the row up at different moments: some before the first fetch ends,
    # some after (they must find the cache, not fetch again).
    class Staggered:
        """The engine's view of the session service, with lookups spread over time."""

        def __init__(self, inner):
            self.inner, self.n = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        async def get_row(self, session_id):
            self.n += 1
            if self.n <= 20:  # the 20 page loads; later lookups (the engine's own) are not delayed
                await asyncio.sleep(0.01 * self.n)
            return await self.inner.get_row(session_id)

    real = env.engine.sessions
    env.engine.sessions = Staggered(real)
    states = await asyncio.gather(*(env.engine.qr_for(sid) for _ in range(20)))
    env.engine.sessions = real
    assert len({s.data_url for s in states}) == 1
    assert env.qr_calls() - before == 1
    assert await env.engine.qr_for(sid) is states[0]  # cached now
    assert env.qr_calls() - before == 1


async def test_manual_refresh_is_rate_limited_and_owner_only(make_env):
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0, rate_limits=RateLimits(create="100/minute"))
    alice = await env.user("alice@example.com")
    bob = await env.user("bob@example.com")
    sid = (await env.core.sessions.create(alice)).id
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()
    await env.engine.drain()
    cached = env.engine.current_qr(sid)
    with pytest.raises(NotFound):
        await env.engine.manual_refresh(bob, sid)
    for _ in range(10):
        state = await env.engine.manual_refresh(alice, sid)
        assert state.data_url == cached.data_url and state.rotation == 1
    with pytest.raises(RateLimited) as exc:
        await env.engine.manual_refresh(alice, sid)
    assert exc.value.name == "qr" and 0 < exc.value.retry_after_seconds <= 60
    assert len(env.recorder.qrs(sid)) == 1  # the same QR is not pushed again
    env.clock.advance(61)
    assert (await env.engine.manual_refresh(alice, sid)).data_url == cached.data_url


async def test_manual_refresh_that_finds_a_new_qr_pushes_it(make_env):
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=200.0)
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()
    await env.engine.drain()
    # WAHA rotated (0.3 s scaled); the engine's clock did not move.
    await eventually(lambda: env.sim.session(sid).qr_number >= 2, what="WAHA's second QR")
    state = await env.engine.manual_refresh(user, sid)
    assert state.rotation == 2
    assert [q.rotation for q in env.recorder.qrs(sid)] == [1, 2]
    assert state.expires_at - state.fetched_at == dt.timedelta(seconds=0.1)
