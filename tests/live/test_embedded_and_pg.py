"""The wiring the app uses: embedded simulator delivering webhooks in-process; PostgreSQL."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from wahaweb.api import webhook as webhook_route
from wahaweb.composition import create_core
from wahaweb.settings import Settings

from .conftest import SIM_KEY, Recorder, fast_hasher


async def test_embedded_mode_with_the_simulator_posting_to_the_route_in_process(tmp_path, monkeypatch):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'emb.db'}", waha_url=None,
                        sim_api_key=SIM_KEY, sim_qr_delay=0.02, sim_time_scale=50.0,
                        public_url="http://wahaweb.embedded", webhook_secret=None, redis_url=None)
    core = await create_core(settings, password_hasher=fast_hasher(), retry_waits=(0, 0))
    try:
        assert core.embedded
        # What the app does at start: the embedded WAHA posts its webhooks to the route, no network.
        api = Starlette(routes=webhook_route.routes)
        api.state.core = core
        core.demo.deliver_webhooks_to(api)
        engine = core.live  # the Core owns its one engine
        assert engine.qr.first_lifetime == pytest.approx(60 / 50) and engine.qr.next_lifetime == pytest.approx(20 / 50)
        tab = Recorder()
        engine.notifier.add(tab)
        user = await core.accounts.register("alice@example.com", "correct horse battery")
        sid = (await core.sessions.create(user)).id
        assert await core.demo.simulator.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
        await core.demo.simulator.drain_webhooks()
        await engine.drain()
        assert (await core.sessions.get_row(sid)).status == "pairing"
        qrs = tab.qrs(sid)  # (a slow machine may already see the next rotation: 1.2 s here)
        assert qrs and qrs[0].rotation == 1 and [q.rotation for q in qrs] == list(range(1, len(qrs) + 1))
        assert all(d["status_code"] == 200 for d in core.demo.simulator.webhook_deliveries)
        core.demo.simulator.scan(sid)  # the phone scans: WAHA's WORKING event reaches the tab
        await core.demo.simulator.drain_webhooks()
        assert tab.statuses(sid)[-1] == "connected"
        # A user action writes the row itself, and the service announces it to the tabs.
        await core.sessions.stop(user, sid)
        await core.sessions.drain()  # the service announces after the action returns
        await core.demo.simulator.drain_webhooks()
        assert any(c.source == "stop" for c in tab.changes) and tab.statuses(sid)[-1] == "stopped"
    finally:
        await core.aclose()


@pytest.mark.postgres
async def test_watcher_on_postgresql(make_env, pg_url):
    env = await make_env(webhooks=False, qr_delay=3600.0, database_url=pg_url)
    user = await env.user("alice@example.com")
    stuck = (await env.core.sessions.create(user)).id
    gone = (await env.core.sessions.create(user)).id
    env.sim.engine.delete(gone)
    env.engine.slow_interval = 10.0
    assert await env.engine._fast_needed()
    env.clock.advance(61)
    await env.engine.tick()
    assert (await env.row(stuck)).auto_restarts == 1
    assert (await env.row(gone)).status == "failed"
    env.clock.advance(61)
    await env.engine.tick()
    assert (await env.row(stuck)).status == "failed"
    assert not await env.engine._fast_needed()
