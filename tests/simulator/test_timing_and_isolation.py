"""The action delay runs on the injected sleep; simulators in one process share nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from wahaweb.simulator import Simulator, SimulatorConfig


class SleepRecorder:
    """Records each wait and the status of ``watch`` at that moment, then returns at once."""

    def __init__(self) -> None:
        self.sim: Simulator | None = None
        self.watch: str | None = None
        self.calls: list[tuple[float, str | None]] = []

    async def __call__(self, seconds: float) -> None:
        status = self.sim.status(self.watch) if self.sim and self.watch else None
        self.calls.append((seconds, status))
        await asyncio.sleep(0)


@pytest.fixture
async def delayed():
    sleep = SleepRecorder()
    sim = Simulator(SimulatorConfig(api_key="k", action_delay=3.0, qr_delay=0.0), sleep=sleep)
    sleep.sim = sim
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w", headers={"X-Api-Key": "k"})
    yield sim, client, sleep
    await client.aclose()
    await sim.aclose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/api/sessions/d/stop", None), ("POST", "/api/sessions/d/restart", None),
     ("POST", "/api/sessions/d/logout", None), ("PUT", "/api/sessions/d", {"config": None}),
     ("POST", "/api/sessions/stop", {"name": "d"})],
)
async def test_slow_actions_wait_the_action_delay_before_acting(delayed, method, path, body):
    sim, client, sleep = delayed
    await client.post("/api/sessions", json={"name": "d"})
    await sim.wait_for_status("d", "SCAN_QR_CODE")
    sleep.watch, sleep.calls = "d", []
    response = await client.request(method, path, json=body)
    assert response.status_code < 300
    delays = [call for call in sleep.calls if call[0] == 3.0]
    assert delays == [(3.0, "SCAN_QR_CODE")], "waited 3 s first, while the session was unchanged"


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/sessions/d/start"), ("GET", "/api/sessions/d"),
                                              ("DELETE", "/api/sessions/d")])
async def test_other_requests_do_not_wait(delayed, method, path):
    sim, client, sleep = delayed
    await client.post("/api/sessions", json={"name": "d", "start": False})
    sleep.calls = []
    await client.request(method, path)
    assert all(seconds != 3.0 for seconds, _ in sleep.calls)


async def test_the_boot_and_qr_timers_run_on_the_injected_sleep(delayed):
    sim, client, sleep = delayed
    await client.post("/api/sessions", json={"name": "t"})
    assert await sim.wait_for_status("t", "FAILED") == "FAILED"  # six QRs "lived" without real waiting
    assert [seconds for seconds, _ in sleep.calls] == [0.0, 60.0] + [20.0] * 5


async def test_several_simulators_in_one_process_share_nothing():
    plus = Simulator(SimulatorConfig(api_key="key-a", qr_delay=0.01))
    core = Simulator(SimulatorConfig(api_key="key-b", profile="core-2024.10", qr_delay=0.01))
    other_plus = Simulator(SimulatorConfig(api_key="key-c", qr_delay=0.01))
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=s.app), base_url="http://w")
               for s in (plus, core, other_plus)]
    a, b, c = clients
    try:
        assert (await a.get("/api/sessions", headers={"X-Api-Key": "key-c"})).status_code == 401
        assert (await c.get("/api/sessions", headers={"X-Api-Key": "key-a"})).status_code == 401
        assert (await b.get("/api/sessions")).status_code == 200  # 2024.10: no key check
        await a.post("/api/sessions", json={"name": "default"}, headers={"X-Api-Key": "key-a"})
        await b.post("/api/sessions", json={"name": "default", "start": True})
        assert plus.session("default") is not core.session("default")
        assert other_plus.session("default") is None and [r["status"] for r in other_plus.requests] == [401]
        assert (await a.get("/api/server/version", headers={"X-Api-Key": "key-a"})).json()["version"] == "2026.7.1"
        assert (await b.get("/api/server/version")).json()["version"] == "2024.10.8"
        await plus.wait_for_status("default", "SCAN_QR_CODE")
        await core.wait_for_status("default", "SCAN_QR_CODE")
        qr_a = (await a.get("/api/default/auth/qr", params={"format": "raw"}, headers={"X-Api-Key": "key-a"})).json()
        qr_b = (await b.get("/api/default/auth/qr", params={"format": "raw"})).json()
        assert qr_a != qr_b
        assert plus.app is not core.app and plus.events is not core.events and plus.faults is not core.faults
    finally:
        for client in clients:
            await client.aclose()
        for sim in (plus, core, other_plus):
            await sim.aclose()
