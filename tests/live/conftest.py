"""Fixtures for the live status engine: a Core wired to an in-process WAHA simulator whose
webhooks are delivered, in-process, to wahaweb's real webhook route.

The Core is built in "real WAHA" mode (WAHA_URL set, the simulator's ASGI transport as the
network) so the test owns the Simulator and can give it a webhook transport. The core
clock is the real clock plus an offset a test can move forward (`env.clock.advance(s)`):
WAHA's event timestamps (the simulator's real time) and wahaweb's observations stay on
one time line until a test jumps ahead (tests that jump run without webhooks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.applications import Starlette

from wahaweb.api import webhook as webhook_route
from wahaweb.core.clock import utcnow
from wahaweb.core.container import Core
from wahaweb.core.live import PageUpdate, StatusEngine
from wahaweb.core.models import User
from wahaweb.core.ratelimit import RateLimits
from wahaweb.settings import Settings
from wahaweb.simulator import Simulator, SimulatorConfig

SIM_KEY = "live-sim-key"
HOOK_SECRET = "live-hook-secret"
PASSWORD = "correct horse battery"
from tests.conftest import REDIS_URL  # noqa: F401


def fast_hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


class ShiftClock:
    """The real UTC time plus an offset that only grows."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> dt.datetime:
        self.offset += dt.timedelta(seconds=seconds)
        return self()


@pytest.fixture
def clock() -> ShiftClock:
    return ShiftClock()


class Recorder:
    """A listener ("a tab") that records what it is told."""

    def __init__(self) -> None:
        self.changes: list[PageUpdate] = []

    async def __call__(self, change: PageUpdate) -> None:
        self.changes.append(change)

    def statuses(self, session_id: str | None = None) -> list[str]:
        return [c.status for c in self.changes if c.kind == "status" and (session_id is None or c.session_id == session_id)]

    def qrs(self, session_id: str | None = None) -> list[Any]:
        return [c.qr for c in self.changes if c.kind == "qr" and (session_id is None or c.session_id == session_id)]


@dataclasses.dataclass
class LiveEnv:
    core: Core
    sim: Simulator
    engine: StatusEngine
    recorder: Recorder
    clock: ShiftClock
    api: Starlette

    def list_calls(self) -> int:
        return sum(1 for r in self.sim.requests if r["method"] == "GET" and r["path"] == "/api/sessions")

    def qr_calls(self) -> int:
        return sum(1 for r in self.sim.requests if r["path"].endswith("/auth/qr"))

    async def user(self, email: str, plan: str | None = "Enterprise") -> User:
        user = await self.core.accounts.register(email, PASSWORD)
        if plan is not None:
            admin = await self.admin()
            user = await self.core.admin.set_plan(admin, user.id, plan)
        return user

    async def admin(self) -> User:
        from sqlmodel import select

        async with self.core.db.session() as s:
            found = (await s.exec(select(User).where(User.role == "admin"))).first()
        if found is None:
            found = await self.core.accounts.register("admin@example.com", PASSWORD)
        return found

    async def settle(self) -> None:
        """Let webhook deliveries and QR fetches finish (no sleeping)."""
        for _ in range(3):
            await self.sim.drain_webhooks()
            await self.engine.drain()

    async def row(self, session_id: str):
        return await self.core.sessions.get_row(session_id)


@pytest.fixture
async def make_env(tmp_path, clock, monkeypatch) -> AsyncIterator[Any]:
    built: list[tuple[Core, Simulator, StatusEngine]] = []
    api = Starlette(routes=webhook_route.routes)  # the route reads request.app.state.core

    async def factory(*, webhooks: bool = True, qr_delay: float = 0.02, time_scale: float = 50.0,
                      sim: Simulator | None = None, database_url: str | None = None, redis_url: str | None = None,
                      rate_limits: RateLimits | None = None, route: bool = True, engine_kwargs: dict | None = None,
                      sim_sleep: Any = None,
                      **settings_overrides: Any) -> LiveEnv:
        if sim is None:
            sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=qr_delay, time_scale=time_scale),
                            webhook_transport=httpx.ASGITransport(app=api), **({"sleep": sim_sleep} if sim_sleep else {}))
        db_url = database_url or f"sqlite+aiosqlite:///{tmp_path / f'live-{uuid.uuid4().hex[:6]}.db'}"
        values: dict[str, Any] = dict(
            database_url=db_url, waha_url="http://waha.test", waha_api_key=SIM_KEY, redis_url=redis_url,
            public_url="http://wahaweb.test" if webhooks else None, webhook_secret=HOOK_SECRET,
        )
        values.update(settings_overrides)
        settings = Settings(**values)
        kwargs = dict(qr_lifetimes=(60 / time_scale, 20 / time_scale))
        kwargs.update(engine_kwargs or {})
        core = await Core.create(settings, waha_transport=httpx.ASGITransport(app=sim.app), clock=clock,
                                 password_hasher=fast_hasher(), retry_waits=(0, 0),
                                 rate_limits=rate_limits or RateLimits.unlimited(), live_options=kwargs)
        engine = core.live
        recorder = Recorder()
        engine.notifier.add(recorder)
        if route or getattr(api.state, "core", None) is None:
            api.state.core = core
        built.append((core, sim, engine))
        return LiveEnv(core=core, sim=sim, engine=engine, recorder=recorder, clock=clock, api=api)

    yield factory
    for core, sim, _ in reversed(built):
        await sim.aclose()
        await core.aclose()


@pytest.fixture
async def env(make_env) -> LiveEnv:
    return await make_env()


# ---------------------------------------------------------------- webhook helpers
def envelope(session: str, status: str, *, event_id: str | None = None, ts_ms: int | None = None,
             statuses: list[dict] | None = None, me: dict | None = None, event: str = "session.status",
             metadata: dict | None = None) -> dict:
    ts_ms = ts_ms if ts_ms is not None else int(utcnow().timestamp() * 1000)
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "timestamp": ts_ms,
        "event": event,
        "session": session,
        "metadata": metadata if metadata is not None else {"wahaweb.session_id": session},
        "me": me,
        "engine": "WEBJS",
        "environment": {"version": "2026.7.1", "engine": "WEBJS", "tier": "PLUS"},
        "payload": {"name": session, "status": status,
                    "statuses": statuses if statuses is not None else [{"status": status, "timestamp": ts_ms}]},
    }


def body_of(data: dict) -> bytes:
    import json

    return json.dumps(data, separators=(",", ":")).encode()


def signed_headers(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    from wahaweb.core.live import sign

    return {"Content-Type": "application/json", "X-Webhook-Hmac": sign(body, secret),
            "X-Webhook-Hmac-Algorithm": "sha512"}


async def post_webhook(env: LiveEnv, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=env.api), base_url="http://wahaweb.test") as c:
        return await c.post("/api/waha/webhook", content=body,
                            headers=signed_headers(body) if headers is None else headers)
