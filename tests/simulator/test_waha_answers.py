"""Answers real WAHA gives that clients match on (issue 13, items 2, 3, 7 and 8)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from wahaweb.simulator import Simulator, SimulatorConfig

from .fake_clock import FakeClock

QR_ERROR = "Session status is not as expected. Try again later or restart the session"


async def test_qr_outside_scan_qr_code_says_wahas_words(make_simulator):
    sim, client = await make_simulator(time_scale=100)
    await client.post("/api/sessions", json={"name": "q"})
    await sim.wait_for_status("q", "SCAN_QR_CODE")
    sim.scan("q")
    refused = await client.get("/api/q/auth/qr", params={"format": "raw"})
    assert refused.status_code == 422
    assert refused.json() == {"error": QR_ERROR, "session": "q", "status": "WORKING", "expected": ["SCAN_QR_CODE"]}


async def test_me_before_working_is_200_with_no_body_at_all(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "m"})
    before = await client.get("/api/sessions/m/me")
    assert before.status_code == 200 and before.content == b""
    assert before.headers["content-length"] == "0"
    await sim.wait_for_status("m", "SCAN_QR_CODE")
    sim.scan("m", phone="628111000111")
    assert (await client.get("/api/sessions/m/me")).json()["id"] == "628111000111@c.us"


async def test_list_items_leave_engine_out_but_get_keeps_it(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "e"})
    (item,) = (await client.get("/api/sessions")).json()
    assert "engine" not in item and {"name", "status", "config", "me", "presence", "timestamps"} <= set(item)
    assert (await client.get("/api/sessions/e")).json()["engine"] == {"engine": "WEBJS"}


async def test_pairing_code_in_starting_waits_for_the_qr_then_answers():
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(qr_delay=0.8), sleep=clock.sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w") as client:
        await client.post("/api/sessions", json={"name": "pc"})
        asked = asyncio.ensure_future(client.post("/api/pc/auth/request-code", json={"phoneNumber": "628123456789"}))
        await clock.settle()
        assert not asked.done() and sim.status("pc") == "STARTING", "no QR yet: NOWEB waits for it"
        clock.advance(0.8)
        answered = await asked
    assert answered.status_code == 201 and answered.json()["code"]
    assert sim.session("pc").pairing_phone == "628123456789"
    await sim.aclose()


async def test_pairing_code_in_starting_without_a_qr_in_time_is_nowebs_422(make_simulator):
    sim, client = await make_simulator(qr_delay=30, time_scale=100)  # the 5 s wait is 50 ms
    await client.post("/api/sessions", json={"name": "pc"})
    refused = await client.post("/api/pc/auth/request-code", json={"phoneNumber": "628123456789"})
    assert refused.status_code == 422
    assert refused.json()["message"] == "Can request code only in SCAN_QR_CODE status. The current status is STARTING"


async def test_pairing_code_when_working_is_refused_at_once(make_simulator):
    sim, client = await make_simulator()
    await client.post("/api/sessions", json={"name": "w"})
    await sim.wait_for_status("w", "SCAN_QR_CODE")
    sim.scan("w")
    refused = await client.post("/api/w/auth/request-code", json={"phoneNumber": "628123456789"})
    assert refused.json()["message"].endswith("The current status is WORKING")


async def test_pairing_code_in_starting_never_answers_on_core_2024_10(make_simulator):
    sim, client = await make_simulator(profile="core-2024.10", qr_delay=30)
    await client.post("/api/sessions", json={"name": "default", "start": True})
    assert sim.status("default") == "STARTING"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.post("/api/default/auth/request-code", json={"phoneNumber": "628123456789"}), 0.2)
    assert sim.requests[-1]["path"] == "/api/default/auth/request-code"
    assert sim.requests[-1]["status"] == 0, "logged as never answered"
