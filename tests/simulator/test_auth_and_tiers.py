"""The API key guard and WAHA Core's one-session rule."""

from __future__ import annotations

import httpx

from .conftest import API_KEY, assert_matches_spec

UNAUTHORIZED = {"message": "Unauthorized", "statusCode": 401}


async def test_missing_or_wrong_key_is_401_with_wahas_body(simulator):
    sim, client = simulator
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://waha.test")
    async with anonymous:
        for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}):
            for method, url in [("GET", "/api/sessions"), ("POST", "/api/sessions"), ("GET", "/api/server/version"),
                                ("GET", "/api/x/auth/qr"), ("GET", "/_sim/requests"), ("POST", "/_sim/faults")]:
                response = await anonymous.request(method, url, headers=headers)
                assert response.status_code == 401, (method, url, headers)
                assert response.json() == UNAUTHORIZED
        pong = await anonymous.get("/ping")
        assert pong.status_code == 200 and assert_matches_spec(pong, "/ping", "get") == {"message": "pong"}
        by_query = await anonymous.get("/api/sessions", params={"x-api-key": API_KEY})
        assert by_query.status_code == 200
    assert sim.session("x") is None, "a refused request must not act"


async def test_no_configured_key_leaves_the_api_open(make_simulator):
    sim, _ = await make_simulator(api_key=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://w") as open_client:
        assert (await open_client.get("/api/sessions")).status_code == 200


async def test_core_tier_allows_only_the_default_session(make_simulator):
    sim, client = await make_simulator(tier="core")
    version = (await client.get("/api/server/version")).json()
    assert version["tier"] == "CORE"

    refused = await client.post("/api/sessions", json={"name": "sales"})
    assert refused.status_code == 422
    message = refused.json()["message"]
    assert message.startswith("WAHA Core support only 'default' session.")
    assert "'sales'" in message and "https://waha.devlike.pro/docs/how-to/plus-version/" in message
    assert (await client.get("/api/sessions/sales")).status_code == 422
    assert (await client.get("/api/sales/auth/qr")).status_code == 422

    created = await client.post("/api/sessions", json={"name": "default"})
    assert created.status_code == 201
    assert await sim.wait_for_status("default", "SCAN_QR_CODE") == "SCAN_QR_CODE"


async def test_plus_tier_and_engine_are_reported(make_simulator):
    _, client = await make_simulator(engine="NOWEB")
    version = assert_matches_spec(await client.get("/api/server/version"), "/api/server/version", "get")
    assert version["tier"] == "PLUS" and version["engine"] == "NOWEB" and version["worker"]["id"]
    session = (await client.post("/api/sessions", json={"name": "n"})).json()
    assert session["engine"] == {"engine": "NOWEB"}
