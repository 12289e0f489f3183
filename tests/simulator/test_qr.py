"""QR codes and pairing codes: rotation, formats, the wait-then-422, scannability."""

from __future__ import annotations

import asyncio
import base64
import re
import time

import segno

from .conftest import decode_png_modules


async def test_qr_rotates_six_times_then_the_session_fails(make_simulator):
    sim, client = await make_simulator(time_scale=200)  # 60 s + 5 x 20 s -> 0.8 s
    events: list[tuple[str, str | None]] = []
    started = time.perf_counter()
    await client.post("/api/sessions", json={"name": "rot"})

    while sim.status("rot") != "FAILED" and time.perf_counter() - started < 5:
        status = sim.status("rot")
        value = sim.session("rot").qr_value
        if not events or events[-1] != (status, value):
            events.append((status, value))
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started

    statuses = [p["status"] for p in sim.session("rot").recent_statuses()]
    assert statuses == ["STARTING"] + ["SCAN_QR_CODE"] * 6 + ["FAILED"]
    qr_values = [value for status, value in events if status == "SCAN_QR_CODE"]
    assert len(qr_values) == 6 and len(set(qr_values)) == 6, "every rotation is a new QR"
    assert 0.7 < elapsed < 2.0, f"six QRs should take 0.8 s at time_scale 200, took {elapsed:.2f} s"
    assert sim.session("rot").qr_value is None

    stamps = [p["timestamp"] for p in sim.session("rot").recent_statuses()]
    lifetimes = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]
    assert lifetimes[0] >= 280, "the first QR lives 60 s (scaled: 300 ms)"
    assert all(80 <= life < 280 for life in lifetimes[1:]), f"next ones live 20 s (100 ms): {lifetimes}"

    failed = await client.get("/api/rot/auth/qr", params={"format": "raw"})
    assert failed.status_code == 422 and failed.json()["status"] == "FAILED"


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
    assert 0.2 <= waited < 1.0, f"should wait 5 s / 20 = 0.25 s, waited {waited:.3f} s"


async def test_qr_request_answers_as_soon_as_the_qr_appears(make_simulator):
    sim, client = await make_simulator(qr_delay=0.15, time_scale=10)  # waits up to 0.5 s
    await client.post("/api/sessions", json={"name": "soon"})
    started = time.perf_counter()
    response = await client.get("/api/soon/auth/qr", params={"format": "raw"})
    waited = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["value"] == sim.session("soon").qr_value
    assert 0.1 <= waited < 0.45, f"answered after {waited:.3f} s; the QR came at 0.15 s"


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
