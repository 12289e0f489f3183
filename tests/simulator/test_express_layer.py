"""What Express and NestJS do around WAHA's routes (issue 13, items 1, 4 and 6)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import assert_matches_spec


async def test_trailing_slash_is_the_same_route_never_a_redirect(simulator):
    sim, client = simulator
    created = await client.post("/api/sessions/", json={"name": "slash", "start": False})
    assert created.status_code == 201 and created.json()["name"] == "slash"
    listed = await client.get("/api/sessions/", params={"all": "true"})
    assert listed.status_code == 200 and [s["name"] for s in listed.json()] == ["slash"]
    assert (await client.get("/api/sessions/slash/")).json()["name"] == "slash"
    assert (await client.post("/api/sessions/slash/start/")).status_code == 201
    assert (await client.get("/ping/")).json() == {"message": "pong"}
    assert [entry["path"] for entry in sim.requests][:2] == ["/api/sessions", "/api/sessions"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/unknown"), ("DELETE", "/api/sessions"), ("PATCH", "/api/sessions/x"), ("GET", "/api/sessions/x/start"),
     ("POST", "/api/sessions/x/pause"), ("PUT", "/ping")],
)
async def test_unknown_routes_and_methods_are_404_cannot_method_path(simulator, method, path):
    _, client = simulator
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}


async def test_cors_preflight_needs_no_key_and_answers_204_with_cors_headers(simulator):
    sim, client = simulator
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://waha.test")
    async with anonymous:
        preflight = await anonymous.options(
            "/api/sessions",
            headers={"Origin": "http://dash.test", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "x-api-key,content-type"},
        )
        assert preflight.status_code == 204 and preflight.content == b""
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "x-api-key,content-type"
        refused = await anonymous.get("/api/sessions", headers={"Origin": "http://dash.test"})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    answered = await client.get("/api/sessions")
    assert answered.headers["access-control-allow-origin"] == "*"


async def test_deprecated_start_stop_logout_take_a_name_in_the_body(simulator):
    sim, client = simulator
    started = await client.post("/api/sessions/start", json={"name": "old", "config": {"metadata": {"a": "1"}}})
    assert started.status_code == 201
    assert assert_matches_spec(started, "/api/sessions/start", "post")["config"] == {"metadata": {"a": "1"}}
    await sim.wait_for_status("old", "SCAN_QR_CODE")
    sim.scan("old")
    stopped = await client.post("/api/sessions/stop", json={"name": "old"})
    assert stopped.status_code == 201 and stopped.content == b"" and sim.session("old").account is not None
    again = await client.post("/api/sessions/start", json={"name": "old"})
    assert again.json()["status"] == "STARTING" and again.json()["config"] == {"metadata": {"a": "1"}}
    await client.post("/api/sessions/stop", json={"name": "old", "logout": True})
    assert sim.status("old") == "STOPPED" and sim.session("old").account is None
    gone = await client.post("/api/sessions/logout", json={"name": "old"})
    assert gone.status_code == 201 and sim.session("old") is None
    assert (await client.post("/api/sessions/stop", json={})).status_code == 400
    assert (await client.post("/api/sessions/logout", json={"name": "ghost"})).status_code == 404
