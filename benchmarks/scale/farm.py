"""The scale benchmark's farm: one Core, N simulated WAHA servers, many sessions.

Each server is either a standalone simulator process (`python -m wahaweb.simulator` on a free
port, reached over real HTTP: the default, so the simulators' work does not share wahaweb's
CPU and event loop) or, with `processes=False`, a `Simulator` in this process behind
`httpx.ASGITransport`. The first is the `default` server (WAHA_URL), the others are added
through the admin service like an operator would. Sessions are made on the simulators
(created, then scanned for the connected ones) and inserted as rows: the benchmark measures
what runs once they exist.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any, Protocol

import httpx
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.applications import Starlette

from benchmarks.simproc import SimulatorProcess
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


class SimHandle(Protocol):
    url: str

    async def create(self, name: str) -> None: ...
    async def status(self, name: str) -> str | None: ...
    async def scan(self, name: str, phone: str | None = None) -> dict[str, Any]: ...
    async def names(self) -> set[str]: ...
    async def clear_requests(self) -> None: ...
    async def request_count(self) -> int: ...
    async def aclose(self) -> None: ...


class LocalSim:
    """A Simulator in this process."""

    def __init__(self, url: str, time_scale: float) -> None:
        self.url = url
        self.sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.02, time_scale=time_scale))
        self.transport = httpx.ASGITransport(app=self.sim.app)

    async def create(self, name: str) -> None:
        self.sim.engine.create(name, {"metadata": {"wahaweb.session_id": name}}, start=True)

    async def status(self, name: str) -> str | None:
        return self.sim.status(name)

    async def scan(self, name: str, phone: str | None = None) -> dict[str, Any]:
        return self.sim.scan(name, phone=phone)

    async def names(self) -> set[str]:
        return set(self.sim.engine.sessions)

    async def clear_requests(self) -> None:
        self.sim.clear_requests()

    async def request_count(self) -> int:
        return len(self.sim.requests)

    async def aclose(self) -> None:
        await self.sim.aclose()


class RemoteSim:
    """A standalone simulator process, driven over HTTP (its WAHA API and its /_sim/ controls)."""

    transport = None

    def __init__(self, time_scale: float) -> None:
        self.proc = SimulatorProcess(api_key=SIM_KEY, qr_delay=0.02, time_scale=time_scale, action_delay=0.0).start()
        self.url = self.proc.base_url
        self.http = httpx.AsyncClient(base_url=self.url, headers={"X-Api-Key": SIM_KEY}, timeout=30)

    async def create(self, name: str) -> None:
        answer = await self.http.post("/api/sessions", json={"name": name, "start": True,
                                                             "config": {"metadata": {"wahaweb.session_id": name}}})
        answer.raise_for_status()

    async def status(self, name: str) -> str | None:
        answer = await self.http.get(f"/_sim/sessions/{name}")
        return answer.json().get("status") if answer.status_code == 200 else None

    async def scan(self, name: str, phone: str | None = None) -> dict[str, Any]:
        answer = await self.http.post(f"/_sim/sessions/{name}/scan", json={"phone": phone} if phone else {})
        answer.raise_for_status()
        return answer.json()

    async def names(self) -> set[str]:
        return {item["name"] for item in (await self.http.get("/api/sessions", params={"all": "true"})).json()}

    async def clear_requests(self) -> None:
        await self.http.delete("/_sim/requests")

    async def request_count(self) -> int:
        return len((await self.http.get("/_sim/requests")).json())

    async def aclose(self) -> None:
        await self.http.aclose()
        self.proc.stop()


@dataclasses.dataclass
class Farm:
    core: Core
    sims: dict[str, SimHandle]
    ids: dict[str, int]
    admin: User
    api: Starlette

    async def aclose(self) -> None:
        await self.core.aclose()
        for sim in self.sims.values():
            await sim.aclose()


async def build(servers: int, database_url: str, *, capacity: int | list[int], time_scale: float = 0.1,
                processes: bool = True) -> Farm:
    """`servers` simulators (time_scale 0.1: a QR lives 10x longer, so pairing lasts the whole run);
    `capacity` is every server's, or one per server in order."""
    names = [f"s{i}" for i in range(servers)]
    capacities = dict(zip(names, capacity if isinstance(capacity, list) else [capacity] * servers, strict=True))
    sims: dict[str, Any] = {n: RemoteSim(time_scale) if processes else LocalSim(f"http://{n}.waha.test", time_scale)
                            for n in names}
    urls = {n: sims[n].url for n in names}
    core = await Core.create(
        Settings(database_url=database_url, waha_url=urls[names[0]], waha_api_key=SIM_KEY, public_url=None,
                 webhook_secret=HOOK_SECRET, default_server_capacity=capacities[names[0]]),
        waha_transport=sims[names[0]].transport,
        server_transports=None if processes else {urls[n]: sims[n].transport for n in names[1:]},
        password_hasher=fast_hasher(), retry_waits=(0, 0), rate_limits=RateLimits.unlimited(),
    )
    admin = await core.accounts.register(f"admin-{uuid.uuid4().hex[:6]}@example.com", PASSWORD)
    ids = {names[0]: 1}
    for n in names[1:]:
        ids[n] = (await core.server_admin.add(admin, n, urls[n], SIM_KEY, capacities[n])).id
    await core.servers.probe_all()
    api = Starlette(routes=webhook_route.routes)
    api.state.core = core
    return Farm(core=core, sims=sims, ids=ids, admin=admin, api=api)


async def _until_qr(sim: SimHandle, name: str) -> None:
    for _ in range(3000):
        if await sim.status(name) == "SCAN_QR_CODE":
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"{name} never showed a QR on {sim.url}")


async def add_sessions(farm: Farm, per_server: int, *, pairing_every: int = 10) -> list[str]:
    """`per_server` sessions on every server, one in `pairing_every` pairing, the rest connected."""
    core, user = farm.core, farm.admin
    now = core.clock()
    rows: list[WaSession] = []
    pairing: list[str] = []
    for name, sim in farm.sims.items():
        made = [new_session_id(user.id, core.clock) for _ in range(per_server)]
        for sid in made:
            await sim.create(sid)
        for i, sid in enumerate(made):
            await _until_qr(sim, sid)
            is_pairing = i % pairing_every == 0
            phone = None
            if is_pairing:
                pairing.append(sid)
            else:
                phone = (await sim.scan(sid, phone=f"62{len(rows):010d}"))["me"]["id"].split("@")[0]
            rows.append(WaSession(
                id=sid, user_id=user.id, server_id=farm.ids[name], status=st.PAIRING if is_pairing else st.CONNECTED,
                waha_status="SCAN_QR_CODE" if is_pairing else "WORKING", phone=phone,
                created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now))
    async with core.db.transaction() as s:
        s.add_all(rows)
    return pairing


async def sim_of(farm: Farm, session_id: str) -> SimHandle:
    for sim in farm.sims.values():
        if await sim.status(session_id) is not None:
            return sim
    raise KeyError(session_id)


def envelope(session: str, status: str, ts_ms: int) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex}", "timestamp": ts_ms, "event": "session.status", "session": session,
            "metadata": {"wahaweb.session_id": session}, "me": None, "engine": "WEBJS",
            "environment": {"version": "2026.7.1", "engine": "WEBJS", "tier": "PLUS"},
            "payload": {"name": session, "status": status, "statuses": [{"status": status, "timestamp": ts_ms}]}}
