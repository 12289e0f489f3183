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


async def _second_worker(farm, server_transports: dict) -> Core:
    """Another worker (Core) over the farm's database, reaching `default` and `server_transports`."""
    return await Core.create(
        farm.core.settings, waha_transport=httpx.ASGITransport(app=farm.sims["default"].app),
        server_transports=server_transports, retry_waits=(0, 0), rate_limits=RateLimits.unlimited(),
        password_hasher=PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)))


async def _still_probing(server_id):
    """Worker A's probe of a server it just added, before it has written its answer."""
    return None


async def test_a_server_added_on_another_worker_is_watched_within_5_s_and_probed_within_60_s(make_farm):
    farm = await make_farm([("a", 2), ("b", 3)])
    other = _sim("plus-2026.7")
    url = "http://d.waha.test"
    transports = {f"http://{n}.waha.test": httpx.ASGITransport(app=farm.sims[n].app) for n in ("b",)}
    transports[url] = httpx.ASGITransport(app=other.app)
    core_b = await _second_worker(farm, transports)
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


async def test_a_server_another_worker_has_not_probed_yet_is_probed_before_anything_is_placed_on_it(make_farm):
    """Worker A has committed a new server and is still probing it (its add has not returned);
    worker B, all of whose servers were probed at its start, creates a session. The new server
    has the most free room, but nobody knows yet that it is a Core 2024.10 server (one session,
    named `default`). On the old code B placed there under the session's own id, WAHA refused
    ("WAHA Core support only 'default' session") and the user's create failed. Now B probes a
    never-probed server first, outside its lock, and places knowing what it is."""
    farm = await make_farm([("a", 2)])
    await farm.core.sessions.create(await farm.user("zero@example.com"))  # default: 1 of 2, pairing
    old = _sim("core-2024.10")
    url = "http://old.waha.test"
    core_b = await _second_worker(farm, {url: httpx.ASGITransport(app=old.app)})
    try:
        farm.core.servers.probe = _still_probing
        added = await farm.core.server_admin.add(farm.admin, "old", url, SIM_KEY, 5)
        assert added.reachable is None and (await core_b.servers.get(added.id)).reachable is None

        first = await core_b.sessions.create(await farm.user("first@example.com"))
        # Probed, then placed as Core: one free slot each, and `old` has no session pairing.
        assert first.server_id == added.id and first.waha_name == "default"
        assert old.status("default") in ("STARTING", "SCAN_QR_CODE")
        probed = await core_b.servers.get(added.id)
        assert probed.reachable is True and probed.tier.upper() == "CORE"
        second = await core_b.sessions.create(await farm.user("second@example.com"))
        assert second.server_id == farm.ids["default"]  # Core's one slot is taken: elsewhere
    finally:
        await core_b.aclose()
        await old.aclose()


async def test_a_never_probed_server_that_does_not_answer_gets_no_session(make_farm):
    """The same window, with a server that does not answer: B's probe finds it down and places
    elsewhere, instead of failing the user's create against it."""
    farm = await make_farm([("a", 1)])
    dead = _sim("plus-2026.7")
    dead.inject(refuse_seconds=600)
    url = "http://dead.waha.test"
    core_b = await _second_worker(farm, {url: httpx.ASGITransport(app=dead.app)})
    try:
        farm.core.servers.probe = _still_probing
        added = await farm.core.server_admin.add(farm.admin, "dead", url, SIM_KEY, 9)
        row = await core_b.sessions.create(await farm.user("user@example.com"))
        assert row.server_id == farm.ids["default"] and row.status in ("starting", "pairing")
        assert (await core_b.servers.get(added.id)).reachable is False
        assert dead.engine.sessions == {}
    finally:
        await core_b.aclose()
        await dead.aclose()
