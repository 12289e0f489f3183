"""``profile="core-2024.10"``: every behaviour recorded from a real WAHA Core 2024.10.8 server."""

from __future__ import annotations

import httpx

from .conftest import API_KEY
from .test_webhooks import Receiver, hook_config

CORE = {"profile": "core-2024.10"}
ONLY_DEFAULT = (
    "WAHA Core support only 'default' session. If you want to run more then one WhatsApp account - "
    "please get WAHA PLUS version. Check this out: https://waha.devlike.pro/"
)


async def test_no_api_key_check_at_all(make_simulator):
    sim, _ = await make_simulator(**CORE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w") as anyone:
        for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": API_KEY}):
            version = await anyone.get("/api/server/version", headers=headers)
            assert version.status_code == 200, headers
            assert version.json()["version"] == "2024.10.8"
            assert (version.json()["engine"], version.json()["tier"]) == ("NOWEB", "CORE")
            assert (await anyone.get("/api/sessions", headers=headers)).status_code == 200


async def test_default_exists_from_boot_and_is_the_only_session(make_simulator):
    _, client = await make_simulator(**CORE)
    assert (await client.get("/api/sessions")).json() == []
    assert (await client.get("/api/sessions", params={"all": "true"})).json() == [
        {"name": "default", "status": "STOPPED", "config": None, "me": None}
    ]
    refused = await client.post("/api/sessions", json={"name": "s1", "start": True})
    assert refused.status_code == 422 and refused.json()["message"] == ONLY_DEFAULT
    nope = await client.get("/api/sessions/nope")
    assert nope.status_code == 404
    assert nope.json() == {"statusCode": 404, "message": "Session not found", "error": "Not Found"}


async def test_create_without_start_is_201_empty_and_keeps_nothing(make_simulator):
    sim, client = await make_simulator(**CORE)
    created = await client.post("/api/sessions", json={"name": "default"})
    assert created.status_code == 201 and created.content == b""
    assert (await client.get("/api/sessions/default")).status_code == 404
    assert sim.session("default") is None


async def test_lifecycle_answers_like_2024_10(make_simulator):
    sim, client = await make_simulator(**CORE, qr_delay=30)
    created = await client.post("/api/sessions", json={"name": "default", "start": True})
    assert created.status_code == 201 and created.json()["status"] == "STARTING"
    duplicate = await client.post("/api/sessions", json={"name": "default", "start": True})
    assert duplicate.json()["message"] == "Session 'default' already exists. Use PUT to update it."
    me = await client.get("/api/sessions/default/me")
    assert me.status_code == 200 and me.content == b""
    too_long = await client.post("/api/sessions", json={"name": "d" * 60, "start": True})
    assert too_long.status_code == 400
    assert too_long.json()["message"] == ["name must be shorter than or equal to 54 characters"]
    for _ in range(2):
        stopped = await client.post("/api/sessions/default/stop")
        assert stopped.status_code == 201 and stopped.json()["status"] == "STOPPED"
    assert (await client.post("/api/sessions/default/start")).status_code == 201
    again = await client.post("/api/sessions/default/start")
    assert again.status_code == 422 and again.json()["message"] == "Session 'default' is already started."
    for _ in range(2):
        deleted = await client.delete("/api/sessions/default")
        assert deleted.status_code == 200 and deleted.content == b""
    stopped_qr = await client.get("/api/default/auth/qr", params={"format": "raw"})
    assert stopped_qr.status_code == 404 and "Please start it first" in stopped_qr.json()["message"]


async def test_health_is_plus_only(make_simulator):
    _, client = await make_simulator(**CORE)
    health = await client.get("/health")
    assert health.status_code == 422 and "available only in Plus version" in health.json()["message"]


async def test_webhooks_have_no_id_no_timestamp_no_hmac_and_starting_repeats(make_simulator):
    receiver = Receiver()
    # qr_delay 0.1 s, STARTING re-sent every 2 s / 100 = 20 ms while the engine "retries".
    sim, client = await make_simulator(**CORE, webhook_transport=receiver.transport, qr_delay=0.1, time_scale=100)
    await client.post("/api/sessions", json={"name": "default", "start": True, "config": hook_config()})
    await sim.wait_for_status("default", "SCAN_QR_CODE")
    await client.post("/api/sessions/default/stop")
    await sim.drain_webhooks()

    statuses = [event["payload"]["status"] for event in receiver.events()]
    assert statuses[0] == "STARTING" and statuses.count("STARTING") >= 3, statuses
    assert statuses[-2:] == ["SCAN_QR_CODE", "STOPPED"]
    for headers, _ in receiver.received:
        assert not any(name.startswith("x-webhook-") for name in headers), headers
    for event in receiver.events():
        assert set(event) == {"event", "session", "metadata", "me", "payload", "engine", "environment"}
        assert set(event["payload"]) == {"name", "status"}
        assert event["engine"] == "NOWEB" and event["environment"]["version"] == "2024.10.8"
