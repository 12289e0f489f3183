"""Several WAHA simulators in one process, each a `waha_server` of one Core.

The first is the `default` server (WAHA_URL); the others are added through the admin
service, reached in-process by `server_transports`. No webhooks: the tests drive the
watcher by hand.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from wahaweb.core.container import Core
from wahaweb.core.models import User
from wahaweb.core.ratelimit import RateLimits
from wahaweb.settings import Settings
from wahaweb.simulator import Simulator, SimulatorConfig

SIM_KEY = "servers-sim-key"
PASSWORD = "correct horse battery"


@dataclasses.dataclass
class Farm:
    core: Core
    sims: dict[str, Simulator]
    admin: User
    ids: dict[str, int]

    async def user(self, email: str) -> User:
        return await self.core.accounts.register(email, PASSWORD)

    async def placed(self) -> dict[str, int]:
        """server name -> sessions placed there (database)."""
        loads = await self.core.servers.loads()
        return {name: loads.get(sid, (0, 0))[0] for name, sid in self.ids.items()}

    def on_waha(self, name: str) -> int:
        """Sessions the simulator behind server `name` holds."""
        return len(self.sims[name].engine.sessions)


def _sim(profile: str, time_scale: float = 50.0) -> Simulator:
    return Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.02, time_scale=time_scale, profile=profile))


@pytest.fixture
async def make_farm(tmp_path) -> AsyncIterator[Any]:
    built: list[tuple[Core, list[Simulator]]] = []

    async def factory(servers: list[tuple[str, int]], *, database_url: str | None = None,
                      profiles: dict[str, str] | None = None, time_scale: float = 50.0, **settings: Any) -> Farm:
        profiles = profiles or {}
        sims = {name: _sim(profiles.get(name, "plus-2026.7"), time_scale) for name, _ in servers}
        urls = {name: f"http://{name}.waha.test" for name, _ in servers}
        first, first_capacity = servers[0]
        values: dict[str, Any] = dict(
            database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / f'farm-{uuid.uuid4().hex[:6]}.db'}",
            waha_url=urls[first], waha_api_key=SIM_KEY, public_url=None, webhook_secret="hook",
            default_server_capacity=first_capacity,
        )
        values.update(settings)
        core = await Core.create(
            Settings(**values), waha_transport=httpx.ASGITransport(app=sims[first].app),
            server_transports={urls[n]: httpx.ASGITransport(app=sims[n].app) for n, _ in servers[1:]},
            password_hasher=PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)),
            retry_waits=(0, 0), rate_limits=RateLimits.unlimited(),
        )
        built.append((core, list(sims.values())))
        admin = await core.accounts.register("admin@example.com", PASSWORD)
        ids = {"default": 1}
        for name, capacity in servers[1:]:
            view = await core.server_admin.add(admin, name, urls[name], SIM_KEY, capacity)
            ids[name] = view.id
        # The first simulator is the server named "default".
        sims = {("default" if n == first else n): sim for n, sim in sims.items()}
        await core.servers.probe_all()
        return Farm(core=core, sims=sims, admin=admin, ids=ids)

    yield factory
    for core, sims in reversed(built):
        await core.aclose()
        for sim in sims:
            await sim.aclose()
