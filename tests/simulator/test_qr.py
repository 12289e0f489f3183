"""QR codes and pairing codes: rotation, formats, the wait-then-422, scannability."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import segno

from wahaweb.simulator import Simulator, SimulatorConfig

from .conftest import API_KEY, decode_png_modules
from .fake_clock import FakeClock


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[Simulator, httpx.AsyncClient, FakeClock]]:
    """A simulator on a hand-moved clock: QR lifetimes pass when the test says so."""
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(api_key=API_KEY, qr_delay=0.8), sleep=clock.sleep)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://waha.test",
                               headers={"X-Api-Key": API_KEY})
    yield sim, client, clock
    await client.aclose()
    await sim.aclose()


async def test_qr_rotates_six_times_then_the_session_fails(clocked):
    sim, client, clock = clocked
    await client.post("/api/sessions", json={"name": "rot"})
    await clock.settle()
    assert sim.status("rot") == "STARTING"
    clock.advance(0.8)
    await clock.settle()

    qr_values = []
    for lifetime in (60, 20, 20, 20, 20, 20):
        assert sim.status("rot") == "SCAN_QR_CODE"
        qr_values.append(sim.session("rot").qr_value)
        clock.advance(lifetime - 0.001)
        await clock.settle()
        assert sim.session("rot").qr_value == qr_values[-1], "a QR lives its full lifetime"
        clock.advance(0.001)
        await clock.settle()

    assert sim.status("rot") == "FAILED" and sim.session("rot").qr_value is None
    assert len(set(qr_values)) == 6, "every rotation is a new QR"
    statuses = [p["status"] for p in sim.session("rot").recent_statuses()]
    assert statuses == ["STARTING"] + ["SCAN_QR_CODE"] * 6 + ["FAILED"]
    assert clock.waits == [0.8, 60.0, 20.0, 20.0, 20.0, 20.0, 20.0], "first QR 60 s, then 20 s each"


async def test_time_scale_divides_the_qr_lifetimes():
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(qr_delay=0.0, time_scale=200), sleep=clock.sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w") as client:
        await client.post("/api/sessions", json={"name": "fast"})
        while sim.status("fast") != "FAILED":
            clock.advance(1)
            await clock.settle()
    assert clock.waits == [0.0, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1]
    await sim.aclose()


async def test_qr_request_waits_for_scan_qr_code_then_answers_422_with_a_bare_body(make_simulator):
    sim, client = await make_simulator(time_scale=20)  # the 5 s wait becomes 0.25 s
    await client.post("/api/sessions", json={"name": "w"})
    await sim.wait_for_status("w", "SCAN_QR_CODE")
    sim.scan("w")

    started = time.perf_counter()
    refused = await client.get("/api/w/auth/qr", params={"format": "image"}, headers={"Accept": "application/json"})
    waited = time.perf_counter() - started
    assert refused.status_code == 422
    body = refused.json()
    assert set(body) == {"error", "session", "status", "expected"}
    assert body["session"] == "w" and body["status"] == "WORKING" and body["expected"] == ["SCAN_QR_CODE"]
    assert isinstance(body["error"], str) and body["error"]
    assert waited >= 0.2, f"should wait 5 s / 20 = 0.25 s first, waited {waited:.3f} s"


async def test_qr_request_answers_as_soon_as_the_qr_appears(clocked):
    sim, client, clock = clocked
    await client.post("/api/sessions", json={"name": "soon"})
    asked = asyncio.ensure_future(client.get("/api/soon/auth/qr", params={"format": "raw"}))
    await clock.settle()
    assert not asked.done(), "no QR yet: the request waits"
    clock.advance(0.8)
    response = await asked
    assert response.status_code == 200 and response.json()["value"] == sim.session("soon").qr_value


async def test_qr_of_a_stopped_session_is_404_like_waha(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "off", "start": False})
    response = await client.get("/api/off/auth/qr", params={"format": "raw"})
    assert response.status_code == 404 and "start" in response.json()["message"]


async def test_image_formats_follow_the_accept_header_exactly(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "img"})
    await sim.wait_for_status("img", "SCAN_QR_CODE")

    as_json = await client.get("/api/img/auth/qr", params={"format": "image"}, headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    png_from_json = base64.b64decode(as_json.json()["data"])

    for accept in ("*/*", "image/png", "application/json, text/plain, */*"):
        raw = await client.get("/api/img/auth/qr", params={"format": "image"}, headers={"Accept": accept})
        assert raw.status_code == 200 and raw.headers["content-type"] == "image/png", accept
        assert raw.content == png_from_json

    default_format = await client.get("/api/img/auth/qr", headers={"Accept": "application/json"})
    assert default_format.json()["mimetype"] == "image/png"
    assert (await client.get("/api/img/auth/qr", params={"format": "svg"})).status_code == 400


async def test_qr_png_is_a_real_qr_of_the_raw_value(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "scan-me"})
    await sim.wait_for_status("scan-me", "SCAN_QR_CODE")
    value = (await client.get("/api/scan-me/auth/qr", params={"format": "raw"})).json()["value"]
    png = (await client.get("/api/scan-me/auth/qr", headers={"Accept": "image/png"})).content

    assert re.fullmatch(r"2@[A-Za-z0-9+/=]+(,[A-Za-z0-9+/=]+){3}", value), "WhatsApp Web's QR text shape"
    expected = segno.make_qr(value, error="l")
    modules = decode_png_modules(png, module_count=expected.symbol_size(scale=1, border=0)[0])
    assert modules == [[bool(cell) for cell in row] for row in expected.matrix]


async def test_pairing_code_for_a_valid_number_while_scanning(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "pc"})
    await sim.wait_for_status("pc", "SCAN_QR_CODE")
    codes = set()
    for _ in range(5):
        response = await client.post("/api/pc/auth/request-code", json={"phoneNumber": "628123456789"})
        assert response.status_code == 201
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", response.json()["code"])
        codes.add(response.json()["code"])
    assert len(codes) > 1, "codes are random"

    for bad in ("12345", "6281234567890123", "62-812-3456", "phone"):
        refused = await client.post("/api/pc/auth/request-code", json={"phoneNumber": bad})
        assert refused.status_code == 422 and bad in refused.json()["message"], bad
    assert (await client.post("/api/pc/auth/request-code", json={})).status_code == 400
