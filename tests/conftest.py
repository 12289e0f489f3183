"""Suite-wide test settings.

Browser tests live in tests/browser and run in their own pytest invocation
(pytest-playwright's event loop clashes with pytest-asyncio); `make test` runs both.
"""

import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

#: One id per test run (`make test` sets it; a bare pytest picks one, and its subprocesses inherit
#: it): the run's PostgreSQL schemas, Redis keys and browser-app logs carry it, so two runs side
#: by side (two clones, or two `make test` in one) never share one.
RUN_ID = re.sub(r"[^a-z0-9]", "", os.environ.get("WAHAWEB_TEST_RUN_ID", "").lower())[:16] or uuid.uuid4().hex[:8]
os.environ["WAHAWEB_TEST_RUN_ID"] = RUN_ID

os.environ.setdefault("REFLEX_STATE_MANAGER_MODE", "memory")
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")

#: The services CI and every developer machine run (python-svc): tests that need them skip
#: only when a server does not answer, and say so loudly.
PG_URL = os.environ.get("WAHAWEB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WAHAWEB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh schema in the test database, dropped afterwards; its URL selects it by search_path."""
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "server unreachable"
        pytest.skip(f"POSTGRESQL UNREACHABLE: {PG_URL} did not answer ({type(exc).__name__}: {exc}); "
                    "start it to run the PostgreSQL tests")
    schema = f"wahaweb_test_{RUN_ID}_{uuid.uuid4().hex[:12]}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "server unreachable"
        await client.aclose()
        pytest.skip(f"REDIS UNREACHABLE: {REDIS_URL} did not answer ({type(exc).__name__}: {exc}); "
                    "start it to run the Redis tests")
    await client.aclose()
    yield REDIS_URL


def redis_test_prefix() -> str:
    """A Redis key prefix of one test in this run (the run's id in it: side-by-side runs never meet)."""
    return f"wahaweb-test-{RUN_ID}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def serve_core(tmp_path) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Cores for in-process HTTP route tests: `await serve_core(api, core_options={...}, **settings)`
    builds one on this test's SQLite file (the embedded simulator unless `waha_url` is given),
    puts it where the app's lifespan puts it (`api.state.core`), and closes every Core it built
    (and takes it off the app) afterwards."""
    import dataclasses

    from wahaweb.composition import create_core
    from wahaweb.settings import Settings

    made: list[Any] = []
    apps: list[Any] = []

    async def install(api: Any, *, core_options: dict[str, Any] | None = None, **settings: Any) -> Any:
        values = dict(database_url=f"sqlite+aiosqlite:///{tmp_path / 'core.db'}")
        values.update(settings)
        core = await create_core(dataclasses.replace(Settings(), **values), **(core_options or {}))
        made.append(core)
        api.state.core = core
        apps.append(api)
        return core

    yield install
    for api in apps:
        api.state.core = None
    for core in reversed(made):
        await core.aclose()
