"""Conformance: an independent client, waha-py (generated from WAHA's OpenAPI), drives a lifecycle.

waha-py is not ours, so it cannot share our mistakes about paths, methods or bodies. It
accepts an httpx client, so the simulator runs in-process; the action delay (WAHA's ~3 s
on stop/restart/logout) is on and waits on a recording sleep, so nothing really waits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from waha import AsyncWahaClient, WahaHttpClient

from tests.openapi_spec import validate_response
from wahaweb.simulator import CORE_2024_10, PLUS_2026_7, Simulator, SimulatorConfig

from .conftest import API_KEY
from .fake_clock import FakeClock


@pytest.fixture(params=[PLUS_2026_7, CORE_2024_10])
async def driven(request) -> AsyncIterator[tuple[Simulator, AsyncWahaClient, WahaHttpClient, FakeClock]]:
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(api_key=API_KEY, profile=request.param, action_delay=3.0, qr_delay=0.0),
                    sleep=clock.sleep)
    headers = {"Accept": "application/json", "X-Api-Key": API_KEY}
    http = WahaHttpClient(
        "http://waha.test",
        api_key=API_KEY,
        async_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://waha.test",
                                       headers=headers),
    )
    client = AsyncWahaClient("http://waha.test", http_client=http)
    yield sim, client, http, clock
    await client.close()
    await sim.aclose()


def spec_checked(sim: Simulator, path: str, method: str, status: int, body) -> None:
    """On the 2026.7 profile every answer must also fit the published spec."""
    if sim.profile.name == PLUS_2026_7:
        validate_response(path, method, status, None if body == "" else body)


async def test_a_lifecycle_through_waha_py(driven):
    sim, waha, http, clock = driven
    name = "default" if sim.profile.name == CORE_2024_10 else "conformance"

    created = await waha.sessions.a_create({"name": name, "start": True})
    assert created["name"] == name and created["status"] in ("STARTING", "SCAN_QR_CODE")
    spec_checked(sim, "/api/sessions", "post", 201, created)

    listed = await waha.sessions.a_list(params={"all": "true"})
    assert [s["name"] for s in listed] == [name] and all("engine" not in s for s in listed)
    spec_checked(sim, "/api/sessions", "get", 200, listed)
    info = await waha.sessions.a_get(name)
    assert info["name"] == name
    spec_checked(sim, "/api/sessions/{session}", "get", 200, info)

    assert await waha.sessions.a_get_me(name) == "", "no body at all before WORKING"
    await sim.wait_for_status(name, "SCAN_QR_CODE")
    qr = await waha.auth.a_get_qr(name, params={"format": "raw"})
    assert qr["value"].startswith("2@")
    image = await waha.auth.a_get_qr(name, params={"format": "image"})
    assert image["mimetype"] == "image/png"
    sim.scan(name, phone="628123000456")
    me = await waha.sessions.a_get_me(name)
    assert me["id"] == "628123000456@c.us"
    spec_checked(sim, "/api/sessions/{session}/me", "get", 200, me)

    clock.waits.clear()
    stopped = await clock.run(waha.sessions.a_stop(name), advance=3.0)
    assert stopped["status"] == "STOPPED"
    started = await waha.sessions.a_start(name)
    assert started["status"] == "STARTING"
    restarted = await clock.run(waha.sessions.a_restart(name), advance=3.0)
    assert restarted["status"] == "STARTING"
    logged_out = await clock.run(waha.sessions.a_logout(name), advance=3.0)
    assert logged_out["status"] == "STARTING" and logged_out["me"] is None
    for body, path in ((stopped, "stop"), (started, "start"), (restarted, "restart"), (logged_out, "logout")):
        spec_checked(sim, f"/api/sessions/{{session}}/{path}", "post", 201, body)
    assert clock.waits.count(3.0) == 3, "stop, restart and logout each took WAHA's action delay"
    assert clock.now == 9.0

    assert await waha.sessions.a_delete(name) == ""
    assert await waha.sessions.a_delete(name) == ""
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await waha.sessions.a_get(name)
    assert missing.value.response.status_code == 404


async def test_trailing_slash_create_and_validation_through_waha_py(driven):
    sim, waha, http, _ = driven
    name = "default" if sim.profile.name == CORE_2024_10 else "slash"
    created = await http.arequest("POST", "/api/sessions/", json={"name": name, "start": True})
    assert created.status_code == 201 and created.json()["name"] == name

    with pytest.raises(httpx.HTTPStatusError) as refused:
        await waha.sessions.a_create({"name": "n" * 60, "start": True})
    assert refused.value.response.status_code == 400
    assert refused.value.response.json() == {
        "statusCode": 400,
        "message": ["name must be shorter than or equal to 54 characters"],
        "error": "Bad Request",
    }
    with pytest.raises(httpx.HTTPStatusError) as unknown:
        await http.arequest("GET", "/api/unknown")
    assert unknown.value.response.status_code == 404
    assert unknown.value.response.json()["message"] == "Cannot GET /api/unknown"


async def test_profiles_differ_where_real_servers_did(driven):
    sim, waha, http, _ = driven
    raw = await http.arequest("GET", "/api/server/version")
    assert raw.json()["version"] == sim.config.version
    if sim.profile.name == CORE_2024_10:
        with pytest.raises(httpx.HTTPStatusError) as other:
            await waha.sessions.a_create({"name": "sales", "start": True})
        assert other.value.response.status_code == 422
        assert (await waha.sessions.a_create({"name": "default"})) == "", "no start: 201 with no body"
    else:
        assert (await waha.sessions.a_create({"name": "sales"}))["status"] == "STARTING"
