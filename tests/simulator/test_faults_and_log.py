"""Fault injection and the request log, over HTTP controls and the Python API."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from wahaweb.simulator import Simulator, SimulatorConfig

from .fake_clock import FakeClock


async def test_status_fault_answers_the_next_n_requests_then_stops(simulator):
    sim, client = simulator
    injected = await client.post("/_sim/faults", json={"status": 503, "count": 2})
    assert injected.status_code == 200 and injected.json()["status"] == 503 and injected.json()["count"] == 2

    first, second, third = [await client.get("/api/sessions") for _ in range(3)]
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["statusCode"] == 503
    assert (await client.get("/_sim/faults")).json()["status"] is None
    assert [entry["status"] for entry in sim.requests] == [503, 503, 200]


async def test_status_fault_can_target_a_path_prefix(simulator):
    sim, client = simulator
    sim.inject(status=500, count=1, path_prefix="/api/sessions")
    assert (await client.get("/api/server/version")).status_code == 200
    assert (await client.get("/ping")).status_code == 200
    assert (await client.post("/api/sessions", json={"name": "x"})).status_code == 500
    assert sim.session("x") is None, "a faulted request never reaches WAHA"
    assert (await client.post("/api/sessions", json={"name": "x"})).status_code == 201


async def test_latency_applies_to_waha_paths_not_controls():
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(api_key="k"), sleep=clock.sleep)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w", headers={"X-Api-Key": "k"})
    try:
        await client.post("/_sim/faults", json={"latency_ms": 120})
        ping = asyncio.ensure_future(client.get("/ping"))
        await clock.settle()
        assert not ping.done() and clock.waits == [0.12], "the WAHA request waits 120 ms first"
        assert (await client.get("/_sim/faults")).status_code == 200, "controls answer meanwhile"
        clock.advance(0.12)
        assert (await ping).status_code == 200

        cleared = await client.delete("/_sim/faults")
        assert cleared.json() == {"status": None, "count": 0, "path_prefix": "", "latency_ms": 0.0,
                                  "refuse_seconds": 0.0}
        assert (await client.get("/ping")).status_code == 200 and clock.waits == [0.12]
    finally:
        await client.aclose()
        await sim.aclose()


async def test_latency_really_waits_by_default(simulator):
    sim, client = simulator
    await client.post("/_sim/faults", json={"latency_ms": 120})
    started = time.perf_counter()
    assert (await client.get("/ping")).status_code == 200
    assert time.perf_counter() - started >= 0.12
    assert sim.requests[-1]["duration_ms"] >= 120


async def test_refused_requests_raise_a_transport_error_through_asgi_transport(simulator):
    sim, client = simulator
    await client.post("/_sim/faults", json={"refuse_seconds": 0.2})
    with pytest.raises(httpx.TransportError) as raised:
        await client.get("/api/sessions")
    assert isinstance(raised.value, httpx.ConnectError)
    assert (await client.get("/_sim/faults")).json()["refuse_seconds"] > 0, "controls still answer"
    await asyncio.sleep(0.25)
    assert (await client.get("/api/sessions")).status_code == 200
    assert [entry["status"] for entry in sim.requests] == [0, 200]


async def test_python_inject_and_clear(simulator):
    sim, client = simulator
    sim.inject(refuse_seconds=5)
    with pytest.raises(httpx.TransportError):
        await client.get("/ping")
    sim.clear_faults()
    assert (await client.get("/ping")).status_code == 200


async def test_bad_fault_requests_are_400(simulator):
    _, client = simulator
    for body in ({}, {"status": 42}, {"status": 503, "count": 0}, {"latency_ms": -1}, {"explode": True}, [1]):
        assert (await client.post("/_sim/faults", json=body)).status_code == 400, body


async def test_request_log_counts_waha_requests_only(simulator):
    sim, client = simulator
    await client.get("/ping")
    await client.post("/api/sessions", json={"name": "logged"})
    await client.get("/api/sessions/logged")
    await client.get("/api/sessions", headers={"X-Api-Key": "wrong"})
    await client.get("/api/sessions/missing")
    await client.get("/_sim/faults")

    log = (await client.get("/_sim/requests")).json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/ping", 200),
        ("POST", "/api/sessions", 201),
        ("GET", "/api/sessions/logged", 200),
        ("GET", "/api/sessions", 401),
        ("GET", "/api/sessions/missing", 404),
    ]
    assert all(e["duration_ms"] >= 0 and e["time"] > 1_600_000_000 for e in log)
    assert log == sim.requests

    assert (await client.delete("/_sim/requests")).json() == {"cleared": 5}
    assert sim.requests == []
    await client.get("/ping")
    sim.clear_requests()
    assert (await client.get("/_sim/requests")).json() == []


async def test_aclose_cancels_timers_and_is_idempotent():
    sim = Simulator(SimulatorConfig(qr_delay=10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w") as client:
        await client.post("/api/sessions", json={"name": "t"})
    timer = sim.session("t").timer
    assert timer is not None and not timer.done()
    await sim.aclose()
    assert timer.cancelled()
    await sim.aclose()
