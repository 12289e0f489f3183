"""The status engine on WAHA's events socket (`/ws`): no public URL needed, slower polls, backoff, 1008.

The simulator's real `/ws` endpoint, reached in-process; time (the backoff's sleeps, the
engine's monotonic clock) is injected: nothing here waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import httpx

from wahaweb.core.live.socket import BACKOFF_MAX, OFF, REFUSED, RETRYING
from wahaweb.simulator import Simulator, SimulatorConfig
from wahaweb.waha import WahaClient

from .conftest import SIM_KEY


class GateSleep:
    """A sleep that records how long it was asked for and returns when the test says so."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._gates: list[asyncio.Future] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        gate = asyncio.get_running_loop().create_future()
        self._gates.append(gate)
        await gate

    def release(self) -> None:
        gates, self._gates = self._gates, []
        for gate in gates:
            if not gate.done():
                gate.set_result(None)

    @property
    def waiting(self) -> int:
        return sum(1 for g in self._gates if not g.done())


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def until(predicate: Callable[[], Any], rounds: int = 50000, patience: int = 2000, what: str = "") -> None:
    """Let the event loop run until `predicate` holds: `rounds` bare event-loop rounds, then (the
    database works in aiosqlite's thread, slow on a loaded machine) `patience` rounds that also
    yield the CPU for 5 ms. Nothing is asserted on time."""
    for round_ in range(rounds + patience):
        got = predicate()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return
        await asyncio.sleep(0 if round_ < rounds else 0.005)
    raise AssertionError(f"condition never held: {what}")


async def _socket_env(make_env, **kwargs):
    gate, ticker = GateSleep(), Ticker()
    env = await make_env(webhooks=False, engine_kwargs={"sleep": gate, "monotonic": ticker, "probe_interval": 1.0},
                         **kwargs)
    await env.engine.tick()  # reads the servers, takes the lease, lists once
    env.engine.open_sockets()
    [sock] = env.engine.sockets.values()
    return env, sock, gate, ticker


async def _status(env, sid: str, status: str) -> None:
    async def reached() -> bool:
        row = await env.row(sid)
        return row is not None and row.status == status
    await until(reached)


async def test_the_page_stays_live_over_the_socket_with_no_public_url(make_env):
    env, sock, gate, ticker = await _socket_env(make_env)
    assert env.core.settings.public_url is None
    await until(lambda: sock.up)
    user = await env.user("ann@example.com")
    sid = (await env.core.sessions.create(user)).id
    await _status(env, sid, "pairing")  # no tick: the socket's SCAN_QR_CODE did it
    await env.engine.drain()
    assert env.recorder.qrs(sid), "the first QR was fetched on the socket's SCAN_QR_CODE"
    env.sim.scan(sid, phone="628000111222", push_name="Ann")
    await _status(env, sid, "connected")
    row = await env.row(sid)
    assert row.phone == "+628000111222"
    assert [c.source for c in env.recorder.changes if c.status == "connected"] == ["socket"]
    assert env.engine.sockets[sock.server.key] is sock and sock.connects == 1 and not gate.waits


async def test_while_the_socket_is_up_the_list_poll_slows_down(make_env):
    polls = {}
    for with_socket in (False, True):
        ticker = Ticker()
        env = await make_env(webhooks=False, engine_kwargs={"sleep": GateSleep(), "monotonic": ticker})
        user = await env.user(f"bob{with_socket}@example.com")
        await env.engine.tick()
        if with_socket:
            env.engine.open_sockets()
            [sock] = env.engine.sockets.values()
            await until(lambda: sock.up)
        sid = (await env.core.sessions.create(user)).id
        await env.sim.wait_for_status(sid, "SCAN_QR_CODE")
        await env.engine.tick()
        await _status(env, sid, "pairing")
        env.sim.clear_requests()
        for _ in range(round(10 / env.engine.fast_interval)):  # 10 s of ticks at the fast pace (pairing)
            ticker.now += env.engine.fast_interval
            report = await env.engine.tick()
            assert report.fast
        polls[with_socket] = env.list_calls()
    assert polls == {False: 33, True: 0}  # and one every `socket_poll_every` (10 s) as the safety net


async def test_qr_rotations_reach_the_page_over_the_socket_without_any_poll(make_env):
    waha_time = GateSleep()  # the simulator's own waits: the boot, then each QR's lifetime
    env, sock, gate, ticker = await _socket_env(make_env, sim_sleep=waha_time)
    await until(lambda: sock.up)
    lists = env.list_calls()
    user = await env.user("dee@example.com")
    sid = (await env.core.sessions.create(user)).id
    for rotation in (1, 2, 3, 4):
        await until(lambda: waha_time.waiting == 1, what=f"waha waits, rotation {rotation}: {waha_time.waits}")
        waha_time.release()  # the boot ends (first QR), then each QR expires (the next one)
        await until(lambda: len(env.recorder.qrs(sid)) == rotation,
                    what=f"QR {rotation}: {[(q.rotation, q.data_url[-12:]) for q in env.recorder.qrs(sid)]}")
    assert [q.rotation for q in env.recorder.qrs(sid)] == [1, 2, 3, 4]
    assert env.list_calls() == lists  # not one list call: the socket said when each QR rotated
    assert (await env.row(sid)).status == "pairing"


async def test_a_dropped_socket_reconnects_with_backoff_from_1_to_60_seconds(make_env):
    env, sock, gate, ticker = await _socket_env(make_env)
    for expected in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0):
        await until(lambda: sock.up)
        env.sim.events.close_all()  # WAHA restarts: closes every socket (1001)
        await until(lambda: gate.waiting == 1)
        assert sock.state == RETRYING and gate.waits[-1] == expected
        # A drop asks for a list poll at once (events may have been missed).
        assert sock.server.polled_at == float("-inf")
        gate.release()
    assert gate.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, BACKOFF_MAX, BACKOFF_MAX]
    # A connection that carried an event starts the backoff again from 1 s.
    await until(lambda: sock.up)
    user = await env.user("cy@example.com")
    sid = (await env.core.sessions.create(user)).id
    await _status(env, sid, "pairing")
    env.sim.events.close_all()
    await until(lambda: gate.waiting == 1)
    assert gate.waits[-1] == 1.0
    gate.release()
    await until(lambda: sock.up)
    assert sock.connects == 10


async def test_a_network_failure_is_retried_and_the_poll_covers_meanwhile(make_env):
    env, sock, gate, ticker = await _socket_env(make_env)
    await until(lambda: sock.up)
    original = env.sim.app._serve_websocket

    async def broken(scope, receive, send):
        await receive()
        await send({"type": "websocket.close", "code": 1011, "reason": "internal error"})

    env.sim.app._serve_websocket = broken
    env.sim.events.close_all()
    await until(lambda: gate.waiting == 1)
    gate.release()
    await until(lambda: gate.waiting == 1)  # the reconnect failed too (1011): the wait doubles
    assert gate.waits == [1.0, 2.0] and sock.state == RETRYING and "did not open" in (sock.error or "")
    report = await env.engine.tick()
    assert report.polled and not report.quiet  # socket down: the list poll is the safety net
    env.sim.app._serve_websocket = original
    gate.release()
    await until(lambda: sock.up)
    ticker.now += 1
    report = await env.engine.tick()  # the re-opened socket asked for one poll now ...
    assert report.polled
    ticker.now += 1
    report = await env.engine.tick()  # ... then the poll rests while events flow
    assert report.quiet and not report.polled


async def test_a_refused_key_1008_stops_reconnecting_and_is_recorded(make_env):
    sim = Simulator(SimulatorConfig(api_key="the-key-waha-runs-with", qr_delay=0.02, time_scale=50.0))
    assert SIM_KEY != sim.config.api_key
    env, sock, gate, ticker = await _socket_env(make_env, sim=sim)
    await until(lambda: sock.state == REFUSED)
    assert "1008" in (sock.error or "") and not gate.waits and sock.connects == 1  # accepted, then closed
    # Later ticks do not try again (a wrong key stays wrong) ...
    for _ in range(3):
        ticker.now += 20
        await env.engine.tick()
        await asyncio.sleep(0)
    assert sock.state == REFUSED and not gate.waits and not sock.running
    # ... until the server's client changes (an admin fixed the key): then it tries again.
    sock.server.waha = WahaClient("http://waha.test", "the-key-waha-runs-with", transport=httpx.ASGITransport(app=sim.app))
    try:
        sock.follow(True)
        await until(lambda: sock.up)
    finally:
        await sock.stop()
        await sock.server.waha.aclose()


async def test_the_socket_follows_the_lease(make_env):
    env, sock, gate, ticker = await _socket_env(make_env)
    await until(lambda: sock.up)
    await sock.server.lease.release()  # another worker took the server
    env.engine._follow_sockets()
    assert sock.state == OFF and not sock.running
    await until(lambda: env.sim.events.open_sockets == 0)
    await env.engine.tick()  # the lease is ours again
    await until(lambda: sock.up)
    assert env.sim.events.open_sockets == 1
    await env.engine.stop()
    assert sock.state == OFF


async def test_the_admin_sees_each_servers_event_source(make_env):
    from wahaweb.core.live.socket import SOURCE_KEY_REFUSED, SOURCE_POLL, SOURCE_SOCKET, SOURCE_WEBHOOK
    from wahaweb.state.servers import EVENT_SOURCE_KEYS

    env, sock, gate, ticker = await _socket_env(make_env)
    admin = await env.admin()

    async def shown() -> str | None:
        [view] = [v for v in await env.core.server_admin.views(admin) if v.name == "default"]
        return view.event_source

    await until(lambda: sock.up)
    await env.engine.tick()
    assert await shown() == SOURCE_SOCKET
    original = env.sim.app._serve_websocket

    async def broken(scope, receive, send):
        await receive()
        await send({"type": "websocket.close", "code": 1011})

    env.sim.app._serve_websocket = broken
    env.sim.events.close_all()
    await until(lambda: gate.waiting == 1)
    await env.engine.tick()
    assert await shown() == SOURCE_POLL  # no public URL: the list poll is all there is meanwhile
    env.engine.webhooks_configured = True
    await env.engine.tick()
    assert await shown() == SOURCE_WEBHOOK
    env.sim.app._serve_websocket = original
    gate.release()
    await until(lambda: sock.up)
    await env.engine.tick()
    assert await shown() == SOURCE_SOCKET
    # Every source the engine reports has words on the page, in both languages (test_i18n checks parity).
    assert set(EVENT_SOURCE_KEYS) == {SOURCE_SOCKET, SOURCE_WEBHOOK, SOURCE_POLL, SOURCE_KEY_REFUSED}


async def test_a_refused_key_is_shown_to_the_admin(make_env):
    sim = Simulator(SimulatorConfig(api_key="the-key-waha-runs-with", qr_delay=0.02, time_scale=50.0))
    env, sock, gate, ticker = await _socket_env(make_env, sim=sim)
    await until(lambda: sock.refused)
    await env.engine.tick()
    [view] = [v for v in await env.core.server_admin.views(await env.admin()) if v.name == "default"]
    assert view.event_source == "key refused"
