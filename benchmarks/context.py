"""What every scenario gets: where the simulator is, how many runs, and small helpers."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from wahaweb.waha import WahaClient

#: WAHA caps session names at 54 characters.
MAX_NAME = 54


@dataclass
class BenchContext:
    base_url: str
    api_key: str
    qr_delay: float = 0.8
    time_scale: float = 1.0
    runs: int = 20
    smoke: bool = False
    old_flow_sleep_scale: float = 1.0
    """Divides nothing: multiplies the old PHP flow's 2 s / 2 s / 3 s sleeps (1.0 in a real bench)."""
    requests_window: float = 6.0
    """Seconds over which waha_requests_vs_sessions counts requests."""
    tabs_levels: tuple[int, ...] = (1, 10, 100)
    sessions_levels: tuple[int, ...] = (1, 10, 100)
    max_streams: int = 1000
    """PerTabPoller cells with tabs x sessions above this are not run (the machine would measure itself)."""
    simulator_pid: int | None = None
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    _control: httpx.AsyncClient | None = None
    _counter: itertools.count = field(default_factory=itertools.count)

    # ----------------------------------------------------------------- clients
    def waha_client(self, max_connections: int = 200) -> WahaClient:
        """wahaweb's own WAHA client, over real HTTP to the simulator subprocess."""
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        )
        return WahaClient(self.base_url, self.api_key, transport=transport)

    @property
    def control(self) -> httpx.AsyncClient:
        """A plain client for the simulator's /_sim/ controls."""
        if self._control is None:
            self._control = httpx.AsyncClient(
                base_url=self.base_url, headers={"X-Api-Key": self.api_key}, timeout=30.0
            )
        return self._control

    async def aclose(self) -> None:
        if self._control is not None:
            await self._control.aclose()
            self._control = None

    # -------------------------------------------------------------- simulator
    async def clear_requests(self) -> int:
        response = await self.control.delete("/_sim/requests")
        response.raise_for_status()
        return int(response.json().get("cleared", 0))

    async def requests(self) -> list[dict[str, Any]]:
        """The simulator's WAHA-path request log: [{method, path, status, time, duration_ms}]."""
        response = await self.control.get("/_sim/requests")
        response.raise_for_status()
        return response.json()

    async def scan(self, name: str) -> dict[str, Any]:
        response = await self.control.post(f"/_sim/sessions/{name}/scan")
        response.raise_for_status()
        return response.json()

    # ------------------------------------------------------------------ names
    def session_name(self, prefix: str) -> str:
        """A session name unique in this run: ``bench_<prefix>_<run>_<n>`` (at most 54 chars)."""
        name = f"bench_{prefix}_{self.run_id}_{next(self._counter)}"
        if len(name) > MAX_NAME:
            raise ValueError(f"session name too long: {name}")
        return name

    async def delete_sessions(self, client: WahaClient, names: list[str]) -> None:
        """Delete what a scenario created, so the next one starts from a quiet simulator."""
        semaphore = asyncio.Semaphore(50)

        async def delete(name: str) -> None:
            async with semaphore:
                await client.delete_session(name)

        await asyncio.gather(*(delete(n) for n in names), return_exceptions=True)
