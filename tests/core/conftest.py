"""Fixtures for core tests: a Core on a fresh SQLite file (or PostgreSQL schema) with the
WAHA simulator in-process, a controllable clock, cheap password hashing.

PostgreSQL and Redis tests skip, loudly, only when the server does not answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from tests.conftest import PG_URL, REDIS_URL, redis_test_prefix  # noqa: F401  (fixtures pg_url/redis_url live there)
from wahaweb.composition import create_core
from wahaweb.core.clock import FakeClock
from wahaweb.core.container import Core
from wahaweb.core.models import User
from wahaweb.core.ratelimit import RateLimits
from wahaweb.settings import Settings

SIM_KEY = "sim-test-key"
PASSWORD = "correct horse battery"


def fast_hasher(time_cost: int = 1) -> PasswordHash:
    """argon2id with tiny parameters: same code path, milliseconds instead of ~50 ms."""
    return PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=1024, parallelism=1),))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'wahaweb.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request) -> str:
    """Both databases: a fresh SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
async def redis_prefix(redis_url) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis.asyncio as aioredis

    prefix = redis_test_prefix()
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def embedded_settings(database_url: str, **overrides) -> Settings:
    values = dict(database_url=database_url, waha_url=None, sim_api_key=SIM_KEY, sim_qr_delay=0.02,
                  sim_time_scale=50.0, redis_url=None)
    values.update(overrides)
    return Settings(**values)


def remote_settings(database_url: str, **overrides) -> Settings:
    """Settings for 'a real WAHA' (the test passes the simulator's ASGI transport)."""
    values = dict(database_url=database_url, waha_url="http://waha.test", waha_api_key=SIM_KEY, redis_url=None)
    values.update(overrides)
    return Settings(**values)


CoreFactory = Callable[..., Awaitable[Core]]


@pytest.fixture
async def make_core(clock) -> AsyncIterator[CoreFactory]:
    """Build migrated Cores; all are closed at the end of the test."""
    built: list[Core] = []

    async def factory(settings: Settings, *, rate_limits: RateLimits | None = None, use_clock: bool = True,
                      **kwargs) -> Core:
        kwargs.setdefault("password_hasher", fast_hasher())
        kwargs.setdefault("retry_waits", (0, 0))
        core = await create_core(settings, clock=clock if use_clock else None, rate_limits=rate_limits, **kwargs)
        built.append(core)
        return core

    yield factory
    for core in reversed(built):
        await core.aclose()


@pytest.fixture
async def core(make_core, sqlite_url) -> Core:
    """An embedded-mode Core (simulator in-process) on a fresh SQLite file, default rate limits."""
    return await make_core(embedded_settings(sqlite_url))


async def register(core: Core, email: str, plan: str | None = "keep") -> User:
    """Register a user; the first one of a database is the admin. `plan` sets a plan by name (None: no plan)."""
    user = await core.accounts.register(email, PASSWORD)
    if plan != "keep":
        user = await core.admin.set_plan(await an_admin(core), user.id, plan)
    return user


async def reach(core: Core, user: User, session_id: str, waha_status: str):
    """Wait until the (embedded) WAHA shows `waha_status`, then store it with one status check."""
    await core.demo.simulator.wait_for_status(session_id, waha_status)
    return await core.sessions.status(user, session_id)


async def an_admin(core: Core) -> User:
    from sqlmodel import select

    async with core.db.session() as s:
        return (await s.exec(select(User).where(User.role == "admin"))).first()


@pytest.fixture
async def users(core):
    """(admin, alice, bob): the admin registered first; alice and bob on the default sign-up plan."""
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    bob = await register(core, "bob@example.com")
    return admin, alice, bob


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; `down = True` makes every request fail like a dead server.

    `hook(request, forward)` may replace the exchange (e.g. forward, then raise a timeout).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.hook: Callable | None = None
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused (test)", request=request)
        if self.hook is not None:
            return await self.hook(request, self.inner.handle_async_request)
        return await self.inner.handle_async_request(request)


async def sim_names(core_or_sim) -> set[str]:
    demo = getattr(core_or_sim, "demo", None)
    sim = demo.simulator if demo is not None else core_or_sim
    return set(sim.engine.sessions)


async def db_rows(core: Core):
    return await core.sessions.rows_in()


async def assert_no_orphans(core: Core, sim=None) -> None:
    """Every WAHA session has its row; every row that is not failed/creating exists on WAHA."""
    sim = sim or core.demo.simulator
    names = set(sim.engine.sessions)
    rows = {r.id: r for r in await db_rows(core)}
    assert names <= set(rows), f"WAHA sessions without a row: {names - set(rows)}"
    for sid, row in rows.items():
        if row.status not in ("failed",):
            assert sid in names, f"row {sid} ({row.status}) has no WAHA session"
