"""``/ws``: session.status events over a websocket, filtered, with WAHA's 1008 on a bad key."""

from __future__ import annotations

from tests.openapi_spec import validate_schema

from .asgi_ws import AsgiWebSocket
from .conftest import API_KEY


def socket(sim, query: str) -> AsgiWebSocket:
    return AsgiWebSocket(sim.app, "/ws", query)


async def test_events_arrive_as_json_frames_in_the_webhook_envelope(simulator):
    sim, client = simulator
    ws = socket(sim, f"session=*&events=session.status&x-api-key={API_KEY}")
    assert (await ws.connect())["type"] == "websocket.accept"
    await client.post("/api/sessions", json={"name": "live", "config": {"metadata": {"u": "1"}}})
    await sim.wait_for_status("live", "SCAN_QR_CODE")
    sim.scan("live", phone="628555000111")

    events = [await ws.receive_json() for _ in range(3)]
    assert [e["payload"]["status"] for e in events] == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    for event in events:
        validate_schema("WAHAWebhookSessionStatus", event)
        assert event["id"].startswith("evt_") and event["metadata"] == {"u": "1"}
    assert events[-1]["me"]["id"] == "628555000111@c.us"
    await ws.disconnect()
    assert sim.events.open_sockets == 0


async def test_session_and_event_filters(simulator):
    sim, client = simulator
    only_b = socket(sim, f"session=b&events=session.status&x-api-key={API_KEY}")
    other_events = socket(sim, f"session=*&events=message,message.ack&x-api-key={API_KEY}")
    wildcard = socket(sim, f"x-api-key={API_KEY}")  # no filters: every session, every event
    for ws in (only_b, other_events, wildcard):
        await ws.connect()
    await client.post("/api/sessions", json={"name": "a", "start": False})
    await client.post("/api/sessions/a/start")
    await client.post("/api/sessions", json={"name": "b", "start": False})
    await client.post("/api/sessions/b/start")

    assert (await only_b.receive_json())["session"] == "b"
    assert only_b.pending() == 0
    assert [(await wildcard.receive_json())["session"] for _ in range(2)] == ["a", "b"]
    assert other_events.pending() == 0
    for ws in (only_b, other_events, wildcard):
        await ws.disconnect()


async def test_a_bad_key_is_closed_with_1008(simulator):
    sim, _ = simulator
    for query in ("session=*&events=session.status", "session=*&x-api-key=wrong"):
        ws = socket(sim, query)
        assert (await ws.connect())["type"] == "websocket.accept"
        closed = await ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 1008, query
    assert sim.events.open_sockets == 0


async def test_a_key_in_the_header_is_accepted_too(simulator):
    sim, client = simulator
    ws = AsgiWebSocket(sim.app, "/ws", "session=*", headers={"X-Api-Key": API_KEY})
    await ws.connect()
    await client.post("/api/sessions", json={"name": "h"})
    assert (await ws.receive_json())["payload"]["status"] == "STARTING"
    await ws.disconnect()


async def test_core_2024_10_needs_no_key_and_sends_its_short_envelope(make_simulator):
    sim, client = await make_simulator(profile="core-2024.10", qr_delay=30)
    ws = socket(sim, "session=default&events=session.status")
    await ws.connect()
    await client.post("/api/sessions", json={"name": "default", "start": True})
    event = await ws.receive_json()
    assert "id" not in event and "timestamp" not in event and event["payload"] == {"name": "default", "status": "STARTING"}
    await ws.disconnect()


async def test_closing_the_simulator_closes_open_sockets(make_simulator):
    sim, _ = await make_simulator()
    ws = socket(sim, f"x-api-key={API_KEY}")
    await ws.connect()
    await sim.aclose()
    closed = await ws.receive()
    assert closed["type"] == "websocket.close" and closed["code"] == 1001
