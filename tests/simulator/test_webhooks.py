"""session.status webhooks: WAHA's envelope, order, and an HMAC a receiver can verify."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.openapi_spec import validate_schema
from wahaweb.simulator import sign_webhook

HOOK_KEY = "hook-secret"


def verify(raw: bytes, headers: httpx.Headers | dict, key: str) -> bool:
    """What a receiver does: recompute over the raw bytes, compare in constant time."""
    expected = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
    return headers.get("x-webhook-hmac-algorithm") == "sha512" and hmac.compare_digest(
        expected, headers.get("x-webhook-hmac", "")
    )


class Receiver:
    """A webhook endpoint served in-process; ``delay_for`` slows chosen statuses down."""

    def __init__(self, delay_for: dict[str, float] | None = None, fail_with: int | None = None):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.delay_for = delay_for or {}
        self.fail_with = fail_with

        async def hook(request: Request) -> Response:
            raw = await request.body()
            await asyncio.sleep(self.delay_for.get(json.loads(raw)["payload"]["status"], 0))
            self.received.append((dict(request.headers), raw))
            return Response(status_code=self.fail_with or 200)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self.transport = httpx.ASGITransport(app=self.app)

    def events(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.received]


def hook_config(key: str | None = HOOK_KEY, events=("session.status",)) -> dict:
    webhook = {"url": "http://receiver.test/hook", "events": list(events)}
    if key is not None:
        webhook["hmac"] = {"key": key}
    return {"metadata": {"user.id": "42"}, "webhooks": [webhook]}


def test_signature_matches_wahas_documented_test_vector():
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    signature = sign_webhook(body, "my-secret-key")
    assert signature.startswith("208f8a55") and signature.endswith("3fa89")
    assert len(signature) == 128  # hex SHA-512


async def test_status_events_are_delivered_in_order_signed_and_shaped_like_waha(make_simulator):
    receiver = Receiver()
    sim, client = await make_simulator(webhook_transport=receiver.transport)
    before_ms = time.time() * 1000
    await client.post("/api/sessions", json={"name": "hooked", "config": hook_config()})
    await sim.wait_for_status("hooked", "SCAN_QR_CODE")
    sim.scan("hooked", phone="628000111222", push_name="Bea")
    await sim.drain_webhooks()

    events = receiver.events()
    assert [e["payload"]["status"] for e in events] == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    for (headers, raw), event in zip(receiver.received, events, strict=True):
        assert verify(raw, headers, HOOK_KEY), "signature must verify over the raw body"
        assert not verify(raw + b" ", headers, HOOK_KEY)
        validate_schema("WAHAWebhookSessionStatus", event)
        assert headers["content-type"] == "application/json"
        assert event["id"].startswith("evt_") and len(event["id"]) == 30
        assert event["event"] == "session.status" and event["session"] == "hooked"
        assert event["metadata"] == {"user.id": "42"} and event["engine"] == "WEBJS"
        assert {"version", "engine", "tier", "browser"} <= set(event["environment"])
        # epoch milliseconds taken while the test ran: bounded by two readings, not by a speed guess
        assert before_ms - 1 <= event["timestamp"] <= time.time() * 1000 + 1
    assert len({e["id"] for e in events}) == 3
    assert events[0]["me"] is None
    assert events[-1]["me"] == {"id": "628000111222@c.us", "pushName": "Bea"}
    assert [p["status"] for p in events[-1]["payload"]["statuses"]] == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    assert all(d["status_code"] == 200 and d["error"] is None for d in sim.webhook_deliveries)


async def test_every_qr_rotation_is_a_new_scan_qr_code_event(make_simulator):
    receiver = Receiver()
    sim, client = await make_simulator(webhook_transport=receiver.transport, time_scale=200)
    await client.post("/api/sessions", json={"name": "rot", "config": hook_config()})
    assert await sim.wait_for_status("rot", "FAILED", timeout=3) == "FAILED"
    await sim.drain_webhooks()
    assert [e["payload"]["status"] for e in receiver.events()] == ["STARTING"] + ["SCAN_QR_CODE"] * 6 + ["FAILED"]


async def test_a_slow_receiver_neither_blocks_the_api_nor_reorders_events(make_simulator):
    receiver = Receiver(delay_for={"STARTING": 0.3})
    sim, client = await make_simulator(webhook_transport=receiver.transport)
    created = await client.post("/api/sessions", json={"name": "slow", "config": hook_config()})
    assert created.status_code == 201 and receiver.received == [], "answered while the receiver still sleeps"
    await sim.wait_for_status("slow", "SCAN_QR_CODE")
    await client.post("/api/sessions/slow/stop")
    await sim.drain_webhooks()
    assert [e["payload"]["status"] for e in receiver.events()] == ["STARTING", "SCAN_QR_CODE", "STOPPED"]


async def test_failing_receivers_are_recorded_and_the_session_carries_on(make_simulator):
    receiver = Receiver(fail_with=500)
    sim, client = await make_simulator(webhook_transport=receiver.transport)
    await client.post("/api/sessions", json={"name": "ko", "config": hook_config()})
    await sim.wait_for_status("ko", "SCAN_QR_CODE")
    await sim.drain_webhooks()
    assert [d["status_code"] for d in sim.webhook_deliveries] == [500, 500]
    assert (await client.get("/_sim/webhooks")).json()[0]["status"] == "STARTING"

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to receiver", request=request)

    sim2, client2 = await make_simulator(webhook_transport=httpx.MockTransport(unreachable))
    await client2.post("/api/sessions", json={"name": "down", "config": hook_config()})
    assert await sim2.wait_for_status("down", "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await sim2.drain_webhooks()
    assert all("ConnectError" in d["error"] for d in sim2.webhook_deliveries)


async def test_unsigned_and_unsubscribed_webhooks(make_simulator):
    receiver = Receiver()
    sim, client = await make_simulator(webhook_transport=receiver.transport)
    await client.post("/api/sessions", json={"name": "plain", "config": hook_config(key=None)})
    await client.post("/api/sessions", json={"name": "deaf", "config": hook_config(events=("message",))})
    await sim.wait_for_status("plain", "SCAN_QR_CODE")
    await sim.drain_webhooks()
    assert {e["session"] for e in receiver.events()} == {"plain"}
    assert all("x-webhook-hmac" not in headers for headers, _ in receiver.received)
