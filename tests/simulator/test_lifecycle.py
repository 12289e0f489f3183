"""Session statuses and lifecycle actions behave like WAHA's."""

from __future__ import annotations

import pytest

from wahaweb.simulator import SimulatorError

from .conftest import assert_matches_spec


def statuses_seen(sim, name):
    return [point["status"] for point in sim.session(name).recent_statuses()]


async def test_full_lifecycle_create_pair_stop_resume_logout_delete(simulator):
    sim, client = simulator

    created = await client.post("/api/sessions", json={"name": "life", "start": True})
    assert created.status_code == 201
    assert assert_matches_spec(created, "/api/sessions", "post")["status"] == "STARTING"

    assert await sim.wait_for_status("life", "SCAN_QR_CODE") == "SCAN_QR_CODE"
    assert (await client.get("/api/sessions/life")).json()["me"] is None

    scanned = await client.post("/_sim/sessions/life/scan", json={"phone": "+628111222333", "pushName": "Ana"})
    assert scanned.status_code == 200 and scanned.json()["status"] == "WORKING"
    info = (await client.get("/api/sessions/life")).json()
    assert info["status"] == "WORKING"
    assert info["me"] == {"id": "628111222333@c.us", "pushName": "Ana"}
    assert (await client.get("/api/sessions/life/me")).json() == info["me"]

    stopped = await client.post("/api/sessions/life/stop")
    assert stopped.status_code == 201 and stopped.json()["status"] == "STOPPED"
    assert stopped.json()["me"] is None
    assert (await client.get("/api/sessions")).json() == []  # STOPPED is left out without ?all
    assert [s["name"] for s in (await client.get("/api/sessions", params={"all": "true"})).json()] == ["life"]
    assert (await client.get("/api/sessions/life/me")).status_code == 404  # no engine loaded

    # The auth survived the stop: start resumes straight to WORKING, no QR.
    started = await client.post("/api/sessions/life/start")
    assert started.status_code == 201 and started.json()["status"] == "STARTING"
    assert await sim.wait_for_status("life", "WORKING") == "WORKING"
    assert (await client.get("/api/sessions/life/me")).json()["id"] == "628111222333@c.us"
    assert "SCAN_QR_CODE" not in statuses_seen(sim, "life")[-3:]

    # Logout forgets the phone and, the session having run, restarts it for a new QR.
    logged_out = await client.post("/api/sessions/life/logout")
    assert logged_out.status_code == 201 and logged_out.json()["status"] == "STARTING"
    assert logged_out.json()["me"] is None
    assert await sim.wait_for_status("life", "SCAN_QR_CODE") == "SCAN_QR_CODE"
    assert statuses_seen(sim, "life")[-3:] == ["STOPPED", "STARTING", "SCAN_QR_CODE"]

    deleted = await client.delete("/api/sessions/life")
    assert deleted.status_code == 200 and deleted.content == b""
    assert (await client.get("/api/sessions/life")).status_code == 404
    assert (await client.get("/api/sessions", params={"all": "true"})).json() == []
    assert (await client.delete("/api/sessions/life")).status_code == 200  # idempotent


async def test_create_without_start_stays_stopped_and_start_defaults_to_true(simulator):
    sim, client = simulator
    idle = await client.post("/api/sessions", json={"name": "idle", "start": False})
    assert idle.json()["status"] == "STOPPED"
    assert (await client.post("/api/sessions", json={"name": "busy"})).json()["status"] == "STARTING"
    assert (await client.post("/api/sessions/idle/start")).json()["status"] == "STARTING"


async def test_create_without_a_name_generates_one(simulator):
    _, client = simulator
    name = (await client.post("/api/sessions", json={})).json()["name"]
    assert name.startswith("session_") and len(name) <= 54


async def test_duplicate_create_is_422_with_wahas_message(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "dup"})
    again = await client.post("/api/sessions", json={"name": "dup"})
    assert again.status_code == 422
    assert again.json() == {
        "message": "Session 'dup' already exists. Use PUT to update it.",
        "error": "Unprocessable Entity",
        "statusCode": 422,
    }


async def test_a_name_over_54_characters_is_wahas_400_with_a_message_list(simulator):
    _, client = simulator
    refused = await client.post("/api/sessions", json={"name": "x" * 55})
    assert refused.status_code == 400
    assert refused.json() == {
        "statusCode": 400,
        "message": ["name must be shorter than or equal to 54 characters"],
        "error": "Bad Request",
    }
    assert (await client.post("/api/sessions", json={"name": "x" * 54})).status_code == 201


@pytest.mark.parametrize("name", ["my.session", "bad name", "é"])
async def test_waha_has_no_rule_on_the_characters_of_a_name(simulator, name):
    _, client = simulator
    created = await client.post("/api/sessions", json={"name": name, "start": False})
    assert created.status_code == 201 and created.json()["name"] == name


async def test_an_empty_create_body_makes_a_session_with_a_generated_name(simulator):
    _, client = simulator
    created = await client.post("/api/sessions", content=b"", headers={"Content-Type": "application/json"})
    assert created.status_code == 201 and created.json()["name"].startswith("session_")
    assert created.json()["status"] == "STARTING"


async def test_malformed_bodies_are_400(simulator):
    _, client = simulator
    assert (await client.post("/api/sessions", content=b"{not json")).status_code == 400
    bad_hooks = await client.post("/api/sessions", json={"name": "h", "config": {"webhooks": [{"events": 1}]}})
    assert bad_hooks.status_code == 400 and isinstance(bad_hooks.json()["message"], list)
    assert (await client.post("/api/sessions", json={"name": "s", "start": "yes"})).status_code == 400


async def test_unknown_sessions_are_404_everywhere(simulator):
    _, client = simulator
    for method, url in [
        ("GET", "/api/sessions/ghost"),
        ("PUT", "/api/sessions/ghost"),
        ("POST", "/api/sessions/ghost/start"),
        ("POST", "/api/sessions/ghost/stop"),
        ("POST", "/api/sessions/ghost/restart"),
        ("POST", "/api/sessions/ghost/logout"),
        ("GET", "/api/sessions/ghost/me"),
        ("GET", "/api/ghost/auth/qr?format=raw"),
    ]:
        response = await client.request(method, url, json={"config": None} if method == "PUT" else None)
        assert response.status_code == 404, (method, url)
        assert response.json()["statusCode"] == 404 and response.json()["message"]
    request_code = await client.post("/api/ghost/auth/request-code", json={"phoneNumber": "628123456789"})
    assert request_code.status_code == 404
    assert (await client.get("/api/nowhere/at/all")).json()["statusCode"] == 404


async def test_start_on_a_running_session_is_422_already_started(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "run"})
    again = await client.post("/api/sessions/run/start")
    assert again.status_code == 422
    assert again.json()["message"] == "Session 'run' is already started."


async def test_stop_is_idempotent_and_restart_starts_a_stopped_session(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "r", "start": False})
    assert (await client.post("/api/sessions/r/stop")).json()["status"] == "STOPPED"
    assert (await client.post("/api/sessions/r/stop")).json()["status"] == "STOPPED"
    assert (await client.post("/api/sessions/r/restart")).json()["status"] == "STARTING"
    assert await sim.wait_for_status("r", "SCAN_QR_CODE") == "SCAN_QR_CODE"


async def test_logout_of_a_stopped_session_keeps_it_stopped_and_forgets_the_phone(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "lo"})
    await sim.wait_for_status("lo", "SCAN_QR_CODE")
    sim.scan("lo")
    await client.post("/api/sessions/lo/stop")
    assert (await client.post("/api/sessions/lo/logout")).json()["status"] == "STOPPED"
    await client.post("/api/sessions/lo/start")
    assert await sim.wait_for_status("lo", "SCAN_QR_CODE", "WORKING") == "SCAN_QR_CODE"


async def test_put_replaces_config_and_restarts_a_running_session(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "up", "config": {"metadata": {"v": "1"}}})
    await sim.wait_for_status("up", "SCAN_QR_CODE")
    sim.scan("up")
    updated = await client.put("/api/sessions/up", json={"config": {"metadata": {"v": "2"}}})
    assert updated.status_code == 200
    assert updated.json()["config"] == {"metadata": {"v": "2"}} and updated.json()["status"] == "STARTING"
    assert await sim.wait_for_status("up", "WORKING") == "WORKING"  # auth kept across the restart
    await client.post("/api/sessions/up/stop")
    still_stopped = await client.put("/api/sessions/up", json={"config": None})
    assert still_stopped.json()["status"] == "STOPPED" and still_stopped.json()["config"] is None


async def test_failed_session_counts_as_running_until_restarted(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "f"})
    failed = await client.post("/_sim/sessions/f/fail")
    assert failed.json()["status"] == "FAILED"
    assert [s["name"] for s in (await client.get("/api/sessions")).json()] == ["f"]
    assert (await client.post("/api/sessions/f/start")).status_code == 422  # like WAHA: still loaded
    assert (await client.post("/api/sessions/f/restart")).json()["status"] == "STARTING"
    assert await sim.wait_for_status("f", "SCAN_QR_CODE") == "SCAN_QR_CODE"


async def test_phone_logging_out_turns_working_into_failed_without_me(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "p"})
    premature = await client.post("/_sim/sessions/p/logout-phone")
    assert premature.status_code == 422
    await sim.wait_for_status("p", "SCAN_QR_CODE")
    sim.scan("p")
    gone = await client.post("/_sim/sessions/p/logout-phone")
    assert gone.status_code == 200 and gone.json()["status"] == "FAILED" and gone.json()["me"] is None
    await client.post("/api/sessions/p/restart")
    assert await sim.wait_for_status("p", "SCAN_QR_CODE", "WORKING") == "SCAN_QR_CODE"  # auth is gone


async def test_scan_is_only_valid_while_a_qr_is_shown(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "s", "start": False})
    refused = await client.post("/_sim/sessions/s/scan")
    assert refused.status_code == 422 and "SCAN_QR_CODE" in refused.json()["message"]
    with pytest.raises(SimulatorError) as raised:
        sim.scan("s")
    assert raised.value.status_code == 422
    assert (await client.post("/_sim/sessions/nobody/scan")).status_code == 404
    await client.post("/api/sessions/s/start")
    await sim.wait_for_status("s", "SCAN_QR_CODE")
    assert (await client.post("/_sim/sessions/s/scan", json={"phone": "12"})).status_code == 422
    linked = await client.post("/_sim/sessions/s/scan")
    assert linked.json()["me"]["id"].endswith("@c.us")


async def test_sim_session_view_exposes_the_internals(simulator):
    sim, client = simulator
    await client.post("/api/sessions", json={"name": "v"})
    await sim.wait_for_status("v", "SCAN_QR_CODE")
    view = (await client.get("/_sim/sessions/v")).json()
    assert view["qr_number"] == 1 and view["qr_value"].startswith("2@") and view["account"] is None
    assert [p["status"] for p in view["statuses"]] == ["STARTING", "SCAN_QR_CODE"]
