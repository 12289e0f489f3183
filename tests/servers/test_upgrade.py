"""Existing installs: today's schema (0001) with sessions upgrades with nothing to do; keys at rest."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import sqlalchemy as sa

from wahaweb.core.container import Core
from wahaweb.core.db import Database
from wahaweb.core.migrate import upgrade_engine
from wahaweb.core.models import AppSetting, WahaServer
from wahaweb.core.servers import ServerKeyUnreadable
from wahaweb.core.servers.crypto import STORED_KEY_SETTING
from wahaweb.settings import Settings
from wahaweb.simulator import Simulator, SimulatorConfig

KEY = "upgrade-key"


async def test_waha_url_install_upgrades_with_nothing_to_do(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    db = Database.from_url(url)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).replace(tzinfo=None)
    await upgrade_engine(db.engine, "0001")  # today's schema, with a user and a session
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO users (id, email, password_hash, role, active, created_at) "
                                   "VALUES (1, 'old@example.com', 'x', 'admin', 1, :now)"), {"now": now})
        await conn.execute(sa.text(
            "INSERT INTO wa_session (id, user_id, status, created_at, updated_at, status_changed_at, auto_restarts) "
            "VALUES ('session_1_1700000000_abcdefghijkl', 1, 'connected', :now, :now, :now, 0)"), {"now": now})
    await db.aclose()
    sim = Simulator(SimulatorConfig(api_key=KEY))
    settings = Settings(database_url=url, waha_url="http://old-waha.test", waha_api_key=KEY, public_url=None,
                        webhook_secret="hook")
    core = await Core.create(settings, waha_transport=httpx.ASGITransport(app=sim.app))
    try:
        row = await core.sessions.get_row("session_1_1700000000_abcdefghijkl")
        assert (row.server_id, row.waha_name, row.name_on_waha) == (1, row.id, row.id)
        [server] = await core.servers.all()
        assert (server.name, server.base_url, server.capacity) == ("default", "http://old-waha.test", 50)
        assert server.api_key_encrypted and KEY not in server.api_key_encrypted  # encrypted at rest
        assert (await core.servers.box()).open(server.api_key_encrypted, server_name="default") == KEY
        assert await core.servers.client_for(1) is core.waha  # the old client, the old calls
    finally:
        await core.aclose()
        await sim.aclose()


async def test_a_key_that_cannot_be_decrypted_stops_the_start_with_a_clear_error(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    sim = Simulator(SimulatorConfig(api_key=KEY))
    base = dict(database_url=url, waha_url="http://w.test", waha_api_key=KEY, public_url=None, webhook_secret="h")
    core = await Core.create(Settings(**base, secret_key="first secret"),
                             waha_transport=httpx.ASGITransport(app=sim.app))
    admin = await core.accounts.register("admin@example.com", "correct horse battery")
    await core.server_admin.add(admin, "second", "http://second.test", "second-key", 10)
    async with core.db.session() as s:
        assert await s.get(AppSetting, STORED_KEY_SETTING) is None  # the operator's secret is never stored
        stored = [r.api_key_encrypted for r in (await s.exec(sa.select(WahaServer))).scalars()]
    assert all(token and "key" not in token for token in stored)
    await core.aclose()
    with pytest.raises(ServerKeyUnreadable, match="'second' cannot be decrypted.*WAHAWEB_SECRET_KEY"):
        await Core.create(Settings(**base, secret_key="another secret"),
                          waha_transport=httpx.ASGITransport(app=sim.app))
    await sim.aclose()


async def test_no_view_or_log_line_carries_a_server_key(tmp_path, caplog):
    import dataclasses
    import logging

    caplog.set_level(logging.DEBUG)
    sim = Simulator(SimulatorConfig(api_key=KEY))
    second = Simulator(SimulatorConfig(api_key="second-secret-key"))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", waha_url="http://w.test",
                        waha_api_key=KEY, public_url=None, webhook_secret="h")
    core = await Core.create(settings, waha_transport=httpx.ASGITransport(app=sim.app),
                             server_transports={"http://second.test": httpx.ASGITransport(app=second.app)})
    try:
        admin = await core.accounts.register("admin@example.com", "correct horse battery")
        tested = await core.server_admin.test_connection(admin, "http://second.test", "second-secret-key")
        assert tested.ok and tested.version
        await core.server_admin.add(admin, "second", "http://second.test", "second-secret-key", 10)
        views = await core.server_admin.views(admin)
        assert [v.reachable for v in views] == [True, True]
        text = repr([dataclasses.asdict(v) for v in views]) + repr(tested)
        text += " ".join(e.detail or "" for e in await core.admin.recent_audit(admin, limit=50))
        text += " ".join(r.getMessage() for r in caplog.records)
        assert "second-secret-key" not in text and KEY not in text
    finally:
        await core.aclose()
        await sim.aclose()
        await second.aclose()
