"""/api/health over a pool: an admin sees every server (name, reachable, latency, version; no URL,
no key); a stranger and a customer still learn only ok / degraded."""

from __future__ import annotations

import httpx

from tests.servers.conftest import PASSWORD, SIM_KEY
from wahaweb.api.routes import build_api
from wahaweb.web.cookies import COOKIE_NAME

CAPACITIES = [("a", 2), ("b", 3), ("c", 5)]


async def test_health_lists_each_server_for_an_admin_only(make_farm):
    farm = await make_farm(CAPACITIES)
    core = farm.core
    api = build_api()
    api.state.core = core
    await farm.user("customer@example.com")
    tokens = {who: (await core.accounts.sign_in(f"{who}@example.com", PASSWORD)).token for who in ("admin", "customer")}
    farm.sims["c"].inject(refuse_seconds=600)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as c:
        stranger = await c.get("/api/health")
        as_customer = await c.get("/api/health", cookies={COOKIE_NAME: tokens["customer"]})
        as_admin = await c.get("/api/health", cookies={COOKIE_NAME: tokens["admin"]})
    assert stranger.status_code == 503 and stranger.json() == {"status": "degraded"}
    assert as_customer.json() == {"status": "degraded"}
    body = as_admin.json()
    assert body["status"] == "degraded" and body["db"] == "ok"
    assert [(s["name"], s["reachable"], s["version"]) for s in body["servers"]] == [
        ("default", True, "2026.7.1"), ("b", True, "2026.7.1"), ("c", False, "2026.7.1")]
    assert all(isinstance(s["latency_ms"], float) for s in body["servers"])
    assert set(body["servers"][0]) == {"name", "reachable", "latency_ms", "version"}
    assert "c did not answer" in body["waha"]
    for response in (stranger, as_customer, as_admin):
        assert SIM_KEY not in response.text and "b.waha.test" not in response.text
        assert "c.waha.test" not in response.text
    # Back up: ok again (past the 2 s cache).
    farm.sims["c"].clear_faults()
    result = await core.health(max_age=0)
    assert result.ok and [s.reachable for s in result.servers] == [True, True, True]
