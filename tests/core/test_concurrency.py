"""The plan limit under concurrent requests: 50 simultaneous creates by a Free user, spread over
five service instances (five "workers", each with its own connection pool) sharing one database
and one WAHA, give exactly one session in the database and exactly one on WAHA."""

from __future__ import annotations

import asyncio
import collections

import httpx
import pytest

from wahaweb.core.db import Database
from wahaweb.core.errors import PlanLimitReached
from wahaweb.core.models import WaSession
from wahaweb.core.ratelimit import RateLimits
from wahaweb.simulator import Simulator, SimulatorConfig

from .conftest import SIM_KEY, assert_no_orphans, register, remote_settings

WORKERS = 5
REQUESTS = 50


def worker_database(database_url: str) -> Database:
    """One worker's pool, kept small: five workers with SQLAlchemy's default pools (up to 15
    connections each) and another suite beside this one exhausted PostgreSQL's 100 connections
    ("sorry, too many clients already", seen). Contention on the plan limit is the same."""
    return Database.from_url(database_url, pool_size=2, max_overflow=4)


async def fifty_creates(make_core, database_url: str) -> None:
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.05))
    try:
        cores = [await make_core(remote_settings(database_url), waha_transport=httpx.ASGITransport(app=sim.app),
                                 rate_limits=RateLimits.unlimited(), database=worker_database(database_url)) for _ in range(WORKERS)]
        await register(cores[0], "owner@example.com")  # the first account has no plan
        user = await register(cores[0], "many-tabs@example.com")
        assert (await cores[0].accounts.usage(user)).limit == 1  # Free
        results = await asyncio.gather(
            *(cores[i % WORKERS].sessions.create(user, f"tab {i}") for i in range(REQUESTS)),
            return_exceptions=True,
        )
        kinds = collections.Counter(type(r).__name__ for r in results)
        assert kinds == {"WaSession": 1, "PlanLimitReached": REQUESTS - 1}, kinds
        (made,) = [r for r in results if isinstance(r, WaSession)]
        assert all(r.limit == 1 and r.plan_name == "Free" for r in results if isinstance(r, PlanLimitReached))
        rows = await cores[0].sessions.rows_in()
        assert [r.id for r in rows] == [made.id]
        assert set(sim.engine.sessions) == {made.id}
        posts = [r for r in sim.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]
        assert len(posts) == 1
        await assert_no_orphans(cores[0], sim)
        assert (await cores[0].audit.count(action="create", outcome="refused")) == REQUESTS - 1
    finally:
        await sim.aclose()


async def test_fifty_concurrent_creates_on_sqlite(make_core, tmp_path):
    await fifty_creates(make_core, f"sqlite+aiosqlite:///{tmp_path / 'concurrent.db'}")


@pytest.mark.postgres
async def test_fifty_concurrent_creates_on_postgresql(make_core, pg_url):
    await fifty_creates(make_core, pg_url)


async def concurrent_restarts(make_core, database_url: str) -> None:
    """Stop then many concurrent creates and restarts: still one active session."""
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.05))
    try:
        cores = [await make_core(remote_settings(database_url), waha_transport=httpx.ASGITransport(app=sim.app),
                                 rate_limits=RateLimits.unlimited(), database=worker_database(database_url)) for _ in range(3)]
        await register(cores[0], "owner@example.com")  # the first account has no plan
        user = await register(cores[0], "racer@example.com")
        first = await cores[0].sessions.create(user)
        await cores[0].sessions.stop(user, first.id)
        calls = []
        for i in range(30):
            core = cores[i % 3]
            calls.append(core.sessions.restart(user, first.id) if i % 2 else core.sessions.create(user))
        results = await asyncio.gather(*calls, return_exceptions=True)
        unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, PlanLimitReached)]
        assert not unexpected, unexpected
        assert (await cores[0].accounts.usage(user)).active == 1
        running = [name for name, s in sim.engine.sessions.items() if s.status.value != "STOPPED"]
        assert len(running) == 1
    finally:
        await sim.aclose()


async def test_concurrent_creates_and_restarts_on_sqlite(make_core, tmp_path):
    await concurrent_restarts(make_core, f"sqlite+aiosqlite:///{tmp_path / 'restarts.db'}")


@pytest.mark.postgres
async def test_concurrent_creates_and_restarts_on_postgresql(make_core, pg_url):
    await concurrent_restarts(make_core, pg_url)
