"""An in-process farm for the scale benchmark: one Core, N simulated WAHA servers, many sessions.

Each server is a `Simulator` reached through `httpx.ASGITransport` (no sockets): the first is
the `default` server (WAHA_URL), the others are added through the admin service like an
operator would. Sessions are made directly on the simulators (created, then scanned for the
connected ones) and inserted as rows: the benchmark measures what runs once they exist.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.applications import Starlette

from wahaweb.api import webhook as webhook_route
from wahaweb.core import status as st
from wahaweb.core.container import Core
from wahaweb.core.ids import new_session_id
from wahaweb.core.models import User, WaSession
from wahaweb.core.ratelimit import RateLimits
from wahaweb.settings import Settings
from wahaweb.simulator import Simulator, SimulatorConfig

SIM_KEY = "scale-bench-sim-key"
HOOK_SECRET = "scale-bench-hook"
PASSWORD = "correct horse battery"


def fast_hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@dataclasses.dataclass
class Farm:
    core: Core
    sims: dict[str, Simulator]
    ids: dict[str, int]
    admin: User
    api: Starlette

    async def aclose(self) -> None:
        await self.core.aclose()
        for sim in self.sims.values():
            await sim.aclose()


async def build(servers: int, database_url: str, *, capacity: int, time_scale: float = 0.1) -> Farm:
    """`servers` simulators (time_scale 0.1: a QR lives 10x longer, so pairing lasts the whole run)."""
    names = [f"s{i}" for i in range(servers)]
    sims = {n: Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.02, time_scale=time_scale)) for n in names}
    urls = {n: f"http://{n}.waha.test" for n in names}
    core = await Core.create(
        Settings(database_url=database_url, waha_url=urls[names[0]], waha_api_key=SIM_KEY, public_url=None,
                 webhook_secret=HOOK_SECRET, default_server_capacity=capacity),
        waha_transport=httpx.ASGITransport(app=sims[names[0]].app),
        server_transports={urls[n]: httpx.ASGITransport(app=sims[n].app) for n in names[1:]},
        password_hasher=fast_hasher(), retry_waits=(0, 0), rate_limits=RateLimits.unlimited(),
    )
    admin = await core.accounts.register(f"admin-{uuid.uuid4().hex[:6]}@example.com", PASSWORD)
    ids = {names[0]: 1}
    for n in names[1:]:
        ids[n] = (await core.server_admin.add(admin, n, urls[n], SIM_KEY, capacity)).id
    await core.servers.probe_all()
    api = Starlette(routes=webhook_route.routes)
    api.state.core = core
    return Farm(core=core, sims=sims, ids=ids, admin=admin, api=api)


async def add_sessions(farm: Farm, per_server: int, *, pairing_every: int = 10) -> list[str]:
    """`per_server` sessions on every server, one in `pairing_every` pairing, the rest connected."""
    core, user = farm.core, farm.admin
    now = core.clock()
    rows: list[WaSession] = []
    pairing: list[str] = []
    for name, sim in farm.sims.items():
        made = [new_session_id(user.id, core.clock) for _ in range(per_server)]
        for sid in made:
            sim.engine.create(sid, {"metadata": {"wahaweb.session_id": sid}}, start=True)
        for i, sid in enumerate(made):
            if await sim.wait_for_status(sid, "SCAN_QR_CODE", timeout=30) != "SCAN_QR_CODE":
                raise RuntimeError(f"{sid} never showed a QR on {name}")
            is_pairing = i % pairing_every == 0
            phone = None
            if is_pairing:
                pairing.append(sid)
            else:
                phone = sim.scan(sid, phone=f"62{len(rows):010d}")["me"]["id"].split("@")[0]
            rows.append(WaSession(
                id=sid, user_id=user.id, server_id=farm.ids[name], status=st.PAIRING if is_pairing else st.CONNECTED,
                waha_status="SCAN_QR_CODE" if is_pairing else "WORKING", phone=phone,
                created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now))
    async with core.db.transaction() as s:
        s.add_all(rows)
    return pairing


def sim_of(farm: Farm, session_id: str) -> Simulator:
    return next(sim for sim in farm.sims.values() if sim.engine.sessions.get(session_id) is not None)


def envelope(session: str, status: str, ts_ms: int) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex}", "timestamp": ts_ms, "event": "session.status", "session": session,
            "metadata": {"wahaweb.session_id": session}, "me": None, "engine": "WEBJS",
            "environment": {"version": "2026.7.1", "engine": "WEBJS", "tier": "PLUS"},
            "payload": {"name": session, "status": status, "statuses": [{"status": status, "timestamp": ts_ms}]}}
