"""Every WAHA answer the simulator gives must fit WAHA's published schema for it."""

from __future__ import annotations

import jsonschema
import pytest
from starlette.routing import Route

from tests.openapi_spec import load_spec, validate_response

from .conftest import assert_matches_spec


async def test_every_waha_endpoint_answers_what_the_spec_declares(simulator):
    sim, client = simulator
    checked: set[tuple[str, str]] = set()

    async def call(method: str, template: str, url: str, **kwargs):
        response = await client.request(method, url, **kwargs)
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        body = assert_matches_spec(response, template, method.lower())
        checked.add((template, method.lower()))
        return response, body

    webhooks = [{"url": "http://hooks.test/waha", "events": ["session.status"], "hmac": {"key": "k"}}]
    config = {"metadata": {"user.id": "7"}, "webhooks": webhooks}

    await call("GET", "/ping", "/ping")
    _, env = await call("GET", "/api/server/version", "/api/server/version")
    assert env["version"] == "2026.7.1" and env["tier"] == "PLUS" and env["engine"] == "WEBJS"

    response, created = await call("POST", "/api/sessions", "/api/sessions", json={"name": "fid", "config": config})
    assert response.status_code == 201 and created["status"] == "STARTING"
    assert created["config"] == config  # webhook events echo as strings (a known spec gap)

    await call("GET", "/api/sessions", "/api/sessions")
    _, listed = await call("GET", "/api/sessions", "/api/sessions?all=true")
    assert [s["name"] for s in listed] == ["fid"]

    _, info = await call("GET", "/api/sessions/{session}", "/api/sessions/fid")
    assert info["me"] is None and "timestamps" in info and "presence" in info

    _, me = await call("GET", "/api/sessions/{session}/me", "/api/sessions/fid/me")
    assert me is None

    assert await sim.wait_for_status("fid", "SCAN_QR_CODE") == "SCAN_QR_CODE"
    _, raw = await call("GET", "/api/{session}/auth/qr", "/api/fid/auth/qr?format=raw")
    assert raw["value"].startswith("2@")
    _, image = await call(
        "GET", "/api/{session}/auth/qr", "/api/fid/auth/qr?format=image", headers={"Accept": "application/json"}
    )
    assert image["mimetype"] == "image/png"
    png = await client.get("/api/fid/auth/qr", params={"format": "image"}, headers={"Accept": "image/png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")

    response, code = await call(
        "POST", "/api/{session}/auth/request-code", "/api/fid/auth/request-code", json={"phoneNumber": "628123456789"}
    )
    assert response.status_code == 201 and len(code["code"]) == 9

    sim.scan("fid", push_name="Fidelity")
    _, me = await call("GET", "/api/sessions/{session}/me", "/api/sessions/fid/me")
    assert me == {"id": "628123456789@c.us", "pushName": "Fidelity"}  # the number the code was for

    await call("PUT", "/api/sessions/{session}", "/api/sessions/fid", json={"config": {"metadata": {"a": "b"}}})
    for action in ("stop", "start", "restart", "logout"):
        response, dto = await call("POST", f"/api/sessions/{{session}}/{action}", f"/api/sessions/fid/{action}")
        assert response.status_code == 201 and dto["name"] == "fid"

    _, shot = await call("GET", "/api/screenshot", "/api/screenshot?session=fid", headers={"Accept": "application/json"})
    assert shot["mimetype"] == "image/png" and shot["data"]
    _, health = await call("GET", "/health", "/health")
    assert health["status"] == "ok"
    _, status = await call("GET", "/api/server/status", "/api/server/status")
    assert status["uptime"] >= 0 and status["worker"]["id"]

    response, dto = await call("POST", "/api/sessions/start", "/api/sessions/start", json={"name": "dep"})
    assert response.status_code == 201 and dto == {"name": "dep", "status": "STARTING", "config": None}
    response, body = await call("POST", "/api/sessions/stop", "/api/sessions/stop", json={"name": "dep"})
    assert response.status_code == 201 and body is None and sim.status("dep") == "STOPPED"
    response, body = await call("POST", "/api/sessions/logout", "/api/sessions/logout", json={"name": "dep"})
    assert response.status_code == 201 and body is None and sim.status("dep") is None

    response, body = await call("DELETE", "/api/sessions/{session}", "/api/sessions/fid")
    assert response.status_code == 200 and body is None

    served = {
        (route.path, method.lower())
        for route in sim.app.routes
        if isinstance(route, Route) and not route.path.startswith("/_sim")
        for method in route.methods - {"HEAD"}
    }
    served.discard(("/api/sessions/{session}/{action}", "post"))
    assert served <= checked, f"answers never checked against the spec: {served - checked}"
    spec_paths = load_spec()["paths"]
    assert all(method in spec_paths[path] for path, method in checked), "simulator invents WAHA paths"


def test_the_spec_helper_rejects_what_waha_would_never_send():
    """The validator must be able to fail, or the fidelity test above proves nothing."""
    good = {"name": "a", "status": "WORKING", "presence": None, "timestamps": {"activity": 1}}
    validate_response("/api/sessions/{session}", "get", 200, good)
    for broken in (
        {**good, "status": "CONNECTED"},
        {k: v for k, v in good.items() if k != "presence"},
        {**good, "timestamps": {}},
        {**good, "me": {"id": "1@c.us"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_response("/api/sessions/{session}", "get", 200, broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/api/{session}/auth/request-code", "post", 201, {})
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/api/sessions/{session}", "delete", 200, {"unexpected": True})
