"""A server added on another worker: this worker watches it within 5 s and probes it within 60 s.

Two Cores over one database stand for two workers; their time is driven by hand (the engine's
injected monotonic clock and sleep), never waited for.
"""

from __future__ import annotations

import httpx
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from tests.servers.conftest import SIM_KEY, _sim
from wahaweb.core.container import Core
from wahaweb.core.ratelimit import RateLimits


async def test_a_server_added_on_another_worker_is_watched_within_5_s_and_probed_within_60_s(make_farm):
    farm = await make_farm([("a", 2), ("b", 3)])
    other = _sim("plus-2026.7")
    url = "http://d.waha.test"
    transports = {f"http://{n}.waha.test": httpx.ASGITransport(app=farm.sims[n].app) for n in ("b",)}
    transports[url] = httpx.ASGITransport(app=other.app)
    core_b = await Core.create(
        farm.core.settings, waha_transport=httpx.ASGITransport(app=farm.sims["default"].app),
        server_transports=transports, retry_waits=(0, 0), rate_limits=RateLimits.unlimited(),
        password_hasher=PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)))
    try:
        engine = core_b.live
        now = [1000.0]
        engine.monotonic = lambda: now[0]
        await engine.tick()
        assert sorted(s.server_id for s in engine.servers) == [farm.ids["default"], farm.ids["b"]]
        # Worker A adds `d` while it does not answer yet: A's probe finds it down.
        other.inject(refuse_seconds=600)
        added = await farm.core.server_admin.add(farm.admin, "d", url, SIM_KEY, 4)
        assert added.reachable is False
        now[0] += 5.0
        await engine.tick()
        assert added.id in [s.server_id for s in engine.servers]  # watched within 5 s
        # Worker B's probe round, every 60 s: once `d` answers, the next round marks it reachable.
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds
            other.clear_faults()
            if len(slept) == 2:
                engine._stopping = True

        engine.sleep = sleep
        await engine._probe_loop()
        engine._stopping = False
        assert slept == [60.0, 60.0]
        row = await core_b.servers.get(added.id)
        assert row.reachable is True and row.version == "2026.7.1"
        # And B places on it (most free room: 4 against 2 and 3), reaching it under its own key.
        row = await core_b.sessions.create(await farm.user("placed@example.com"))
        assert row.server_id == added.id and other.status(row.waha_name) in ("STARTING", "SCAN_QR_CODE")
    finally:
        await core_b.aclose()
        await other.aclose()
