"""Webhooks from a WAHA that cannot sign (Core 2024.10): only on the server's secret URL.

The simulator plays `core-2024.10` (no id, no timestamp, no X-Webhook-Hmac) and POSTs, in
process, to wahaweb's real webhook routes.
"""

from __future__ import annotations

import json

import httpx
import pytest

from wahaweb.core.models import WahaServer
from wahaweb.core.servers.placement import NoCapacity
from wahaweb.i18n import error_text
from wahaweb.observability.redact import Redactor
from wahaweb.simulator import Simulator, SimulatorConfig

from .conftest import SIM_KEY, post_webhook


def _core_sim(env_api) -> Simulator:
    return Simulator(SimulatorConfig(profile="core-2024.10", api_key=SIM_KEY, qr_delay=0.02, time_scale=50.0),
                     webhook_transport=httpx.ASGITransport(app=env_api))


async def _core_env(make_env):
    from starlette.applications import Starlette

    from wahaweb.api import webhook as webhook_route

    api = Starlette(routes=webhook_route.routes)
    env = await make_env(sim=_core_sim(api))
    api.state.core = env.core
    env.api = api
    return env


async def _default_server(env) -> WahaServer:
    [server] = [srv for srv in await env.core.servers.all() if srv.name == "default"]
    return server


async def test_a_core_2024_10_server_posts_to_its_secret_url_and_the_page_follows(make_env):
    env = await _core_env(make_env)
    user = await env.user("ann@example.com")
    session = await env.core.sessions.create(user)
    assert session.name_on_waha == "default"
    server = await _default_server(env)
    assert server.tier == "core" or server.tier == "CORE"
    hooks = env.sim.session("default").config["webhooks"]
    assert [h["url"] for h in hooks] == [f"http://wahaweb.test/api/waha/webhook/{server.webhook_token}"]
    assert len(server.webhook_token or "") >= 40
    await env.sim.wait_for_status("default", "SCAN_QR_CODE")
    await env.settle()
    deliveries = env.sim.webhook_deliveries
    assert deliveries and all(d["event_id"] is None and d["status_code"] == 200 for d in deliveries)
    row = await env.row(session.id)
    assert row.status == "pairing"  # from the unsigned events alone: no tick ran
    env.sim.scan("default", phone="628000111222")
    await env.settle()
    row = await env.row(session.id)
    assert (row.status, row.phone) == ("connected", "+628000111222")
    assert {c.source for c in env.recorder.changes if c.kind == "status" and c.status in ("pairing", "connected")} == {"webhook"}
    # The Core server runs one session only: a second create (another user) gets the no-capacity
    # message, never WAHA's "WAHA Core support only 'default' session" text.
    other = await env.user("zed@example.com")
    with pytest.raises(NoCapacity) as refused:
        await env.core.sessions.create(other)
    shown = error_text("en", refused.value)
    assert "No capacity" in shown and "default" not in shown and "WAHA Core" not in shown
    assert error_text("id", refused.value) == "Kapasitas sedang penuh; operator sudah diberi tahu."
    assert [row.id for row in await env.core.sessions.rows_in()] == [session.id]


def _unsigned(status: str = "WORKING") -> bytes:
    return json.dumps({"event": "session.status", "session": "default", "metadata": {}, "me": None,
                       "payload": {"name": "default", "status": status}, "engine": "NOWEB",
                       "environment": {"version": "2024.10.8", "tier": "CORE"}}).encode()


async def _post(env, path: str, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=env.api), base_url="http://wahaweb.test") as c:
        return await c.post(path, content=body, headers={"Content-Type": "application/json"})


async def _pairing_on_core(make_env, email: str):
    env = await _core_env(make_env)
    session = await env.core.sessions.create(await env.user(email))
    await env.sim.wait_for_status("default", "SCAN_QR_CODE")
    await env.settle()
    return env, session


async def test_unsigned_events_only_on_the_right_token_404_otherwise_401_on_the_plain_route(make_env):
    env, session = await _pairing_on_core(make_env, "bob@example.com")
    server = await _default_server(env)
    body = _unsigned("FAILED")
    before = (await env.row(session.id)).status
    # The plain route never takes an unsigned event.
    assert (await post_webhook(env, body, {"Content-Type": "application/json"})).status_code == 401
    # Unknown tokens: 404, whatever their shape; nothing changes.
    token = server.webhook_token or ""
    for wrong in ("x", token[:-1], token[:-1] + ("A" if token[-1] != "A" else "B"), token + "a", "a" * 500):
        answer = await _post(env, f"/api/waha/webhook/{wrong}", body)
        assert (answer.status_code, answer.json()["outcome"]) == (404, "unknown_token"), wrong
    assert (await env.row(session.id)).status == before
    # The right token: applied once; the same body again (no id) is known by its hash.
    first = await _post(env, f"/api/waha/webhook/{token}", body)
    assert (first.status_code, first.json()["outcome"]) == (200, "applied")
    assert (await env.row(session.id)).status == "failed"
    again = await _post(env, f"/api/waha/webhook/{token}", body)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    # Still the envelope checks: not JSON is 400.
    assert (await _post(env, f"/api/waha/webhook/{token}", b"nope")).status_code == 400


async def test_a_token_url_names_only_its_own_servers_sessions(make_env):
    env, session = await _pairing_on_core(make_env, "cy@example.com")
    async with env.core.db.transaction() as s:
        other = WahaServer(name="other", base_url="http://other.test", created_at=env.clock(), enabled=False)
        s.add(other)
    [other] = [srv for srv in await env.core.servers.all() if srv.name == "other"]
    answer = await _post(env, f"/api/waha/webhook/{other.webhook_token}", _unsigned("FAILED"))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "unknown_session")
    assert (await env.row(session.id)).status == "pairing"
    assert other.webhook_token != (await _default_server(env)).webhook_token


def test_the_log_redactor_masks_the_token_in_a_webhook_url():
    line = 'POST /api/waha/webhook/Zm9vYmFyX2Jhel9xdXV4LTEyMzQ1Njc4OTA HTTP/1.1 200; url="http://x/api/waha/webhook/abc-DEF_123"'
    masked = Redactor()(line)
    assert "Zm9vYmFy" not in masked and "abc-DEF_123" not in masked
    assert "/api/waha/webhook/***" in masked
