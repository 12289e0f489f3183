"""Endpoints a dashboard uses beyond the lifecycle (issue 13, item 10) and the passkey control."""

from __future__ import annotations

import base64

from tests.openapi_spec import validate_schema

from .asgi_ws import AsgiWebSocket
from .conftest import API_KEY, assert_matches_spec


async def test_screenshot_is_the_qr_while_scanning_and_a_plain_png_otherwise(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "shot"})
    await sim.wait_for_status("shot", "SCAN_QR_CODE")
    png = await client.get("/api/screenshot", params={"session": "shot"})
    qr_png = await client.get("/api/shot/auth/qr", headers={"Accept": "image/png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == qr_png.content
    sim.scan("shot")
    working = await client.get("/api/screenshot", params={"session": "shot"}, headers={"Accept": "application/json"})
    body = assert_matches_spec(working, "/api/screenshot", "get")
    assert body["mimetype"] == "image/png" and base64.b64decode(body["data"]).startswith(b"\x89PNG")
    assert base64.b64decode(body["data"]) != qr_png.content
    await client.post("/api/sessions/shot/stop")
    assert (await client.get("/api/screenshot", params={"session": "shot"})).status_code == 404


async def test_server_status_and_health(simulator):
    _, client = simulator
    status = assert_matches_spec(await client.get("/api/server/status"), "/api/server/status", "get")
    assert status["startTimestamp"] > 1_600_000_000_000 and status["uptime"] >= 0
    health = await client.get("/health")
    assert health.status_code == 200 and assert_matches_spec(health, "/health", "get")["status"] == "ok"
    assert (await client.get("/health", headers={"X-Api-Key": "wrong"})).status_code == 401


async def test_passkey_statuses_are_reachable_through_a_control(simulator):
    sim, client = simulator
    ws = AsgiWebSocket(sim.app, "/ws", f"x-api-key={API_KEY}")
    await ws.connect()
    await client.post("/api/sessions", json={"name": "pk"})
    assert (await client.post("/_sim/sessions/pk/passkey")).status_code == 422  # still STARTING
    await sim.wait_for_status("pk", "SCAN_QR_CODE")

    required = await client.post("/_sim/sessions/pk/passkey")
    assert required.status_code == 200 and required.json()["status"] == "PASSKEY_REQUIRED"
    assert (await client.get("/_sim/sessions/pk")).json()["status_data"]["challenge"]
    confirm = await client.post("/_sim/sessions/pk/passkey", json={"confirm": True})
    assert confirm.json()["status"] == "PASSKEY_CONFIRMATION_REQUIRED"
    sim.scan("pk", phone="628999000111")
    assert sim.status("pk") == "WORKING"

    events = [await ws.receive_json() for _ in range(5)]
    assert [e["payload"]["status"] for e in events] == [
        "STARTING", "SCAN_QR_CODE", "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED", "WORKING"]
    for event in events:
        validate_schema("WAHAWebhookSessionStatus", event)
    assert "challenge" in events[2]["payload"]["data"] and len(events[3]["payload"]["data"]["code"]) == 6
    assert "data" not in events[4]["payload"]
    assert (await client.get("/api/sessions/pk")).json()["status"] == "WORKING"
    await ws.disconnect()
