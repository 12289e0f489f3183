"""wahaweb's Core, status engine and webhook route, in this process, against the benchmark's simulator.

``BenchCore`` builds the Core exactly as the app does (``Core.create(Settings(...))``, a
throw-away SQLite file, ``WAHA_URL`` = the simulator subprocess) and, with ``webhooks=True``,
serves wahaweb's own webhook route (``wahaweb.api.webhook.routes``) with uvicorn on a free
port and sets ``public_url`` to it, so the simulator's ``session.status`` webhooks go over
real HTTP into the app's route and its status engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.applications import Starlette

from benchmarks.context import BenchContext

PASSWORD = "correct horse battery staple"


def fast_hasher() -> PasswordHash:
    """Cheap argon2 (as the tests use): sign-up cost is not what is measured."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


class BenchCore:
    def __init__(self, ctx: BenchContext, *, webhooks: bool = False, unlimited_rate: bool = True,
                 signup_plan: str | None = None, default_session_limit: int = 1000,
                 start_engine: bool = False, db_dir: Path | None = None, database_url: str | None = None) -> None:
        self.ctx = ctx
        self.webhooks = webhooks
        self.unlimited_rate = unlimited_rate
        self.signup_plan = signup_plan
        self.default_session_limit = default_session_limit
        self.start_engine = start_engine
        #: None: a throw-away SQLite file in db_dir; else this URL (a PostgreSQL schema the caller made).
        self.database_url = database_url
        self.core: Any = None
        self.engine: Any = None
        self._own_dir = db_dir is None
        self._dir = db_dir or Path(tempfile.mkdtemp(prefix="wahaweb-bench-core-"))
        self._server: uvicorn.Server | None = None
        self._server_task: asyncio.Task | None = None
        self._socket: socket.socket | None = None

    async def __aenter__(self) -> BenchCore:
        from wahaweb.core.container import Core
        from wahaweb.core.ratelimit import RateLimits
        from wahaweb.settings import Settings

        public_url = None
        if self.webhooks:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            self._socket = sock
            public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = Settings(
            waha_url=self.ctx.base_url, waha_api_key=self.ctx.api_key,
            database_url=self.database_url or f"sqlite+aiosqlite:///{self._dir / 'bench.db'}",
            public_url=public_url, webhook_secret=None, redis_url=None,
            signup_plan=self.signup_plan or "", default_session_limit=self.default_session_limit,
            default_server_capacity=100_000,  # queueing is measured here, not the capacity rule
        )
        self.core = await Core.create(
            settings, password_hasher=fast_hasher(),
            rate_limits=RateLimits.unlimited() if self.unlimited_rate else None,
        )
        self.engine = self.core.live
        self.db_dir = self._dir
        if self.webhooks:
            await self._serve_route()
        if self.start_engine:
            self.engine.start()
        return self

    async def _serve_route(self) -> None:
        from wahaweb.api import webhook as webhook_route

        app = Starlette(routes=webhook_route.routes)
        app.state.core = self.core  # where the route finds the app's Core
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        assert self._socket is not None
        self._server_task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._server_task.done():
                self._server_task.result()
                raise RuntimeError("the webhook route server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook route server did not start in 10 s")
            await asyncio.sleep(0.01)

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._server_task, 5)
        if self._socket is not None:
            self._socket.close()
        with contextlib.suppress(Exception):
            await self.core.aclose()
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    async def user(self, email: str):
        return await self.core.accounts.register(email, PASSWORD)

    async def delete_all(self, user, session_ids: list[str]) -> None:
        """Delete sessions through the service (DB row + WAHA), ignoring failures."""
        semaphore = asyncio.Semaphore(20)

        async def one(sid: str) -> None:
            async with semaphore:
                with contextlib.suppress(Exception):
                    await self.core.sessions.delete(user, sid)

        await asyncio.gather(*(one(s) for s in session_ids))


PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def pg_schema(prefix: str):
    """A fresh schema in the local PostgreSQL (the test database), dropped afterwards; yields its URL."""
    import uuid

    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
