"""Every WAHA endpoint the client covers: method, path, query, headers, body, parsed answer."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tests.waha.conftest import API_KEY, BASE_URL, session_dto, session_info
from wahaweb.settings import EMBEDDED_WAHA_URL, Settings
from wahaweb.waha import (
    Me,
    QRImage,
    ServerVersion,
    SessionDTO,
    SessionInfo,
    WahaClient,
    WahaStatus,
)

NAME = "session_1_1700000000_ab12"


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1, f"expected exactly one request, got {route.call_count}"
    return route.calls.last.request


def body_of(request: httpx.Request):
    return json.loads(request.content) if request.content else None


async def test_list_sessions_asks_for_all_and_parses_session_infos(client, router):
    route = router.get("/api/sessions").respond(
        200, json=[session_info(), session_info("other", "STOPPED", config=None, me=None)]
    )

    sessions = await client.list_sessions()

    request = only_request(route)
    assert request.url.params["all"] == "true"
    assert request.headers["X-Api-Key"] == API_KEY
    assert [s.name for s in sessions] == [NAME, "other"]
    assert all(isinstance(s, SessionInfo) for s in sessions)
    assert sessions[0].status is WahaStatus.WORKING
    assert sessions[0].me.phone == "6281234567890"
    assert sessions[0].engine_name == "WEBJS"
    assert sessions[0].metadata == {"wahaweb.user_id": "1"}
    assert sessions[1].status is WahaStatus.STOPPED and sessions[1].config is None and sessions[1].metadata == {}


async def test_list_sessions_without_all_leaves_the_parameter_out(client, router):
    route = router.get("/api/sessions").respond(200, json=[])

    assert await client.list_sessions(all=False) == []
    assert "all" not in only_request(route).url.params


async def test_create_session_sends_name_start_and_config(client, router):
    route = router.post("/api/sessions").respond(201, json=session_dto())
    webhooks = [{"url": "https://app.test/api/waha/webhook", "events": ["session.status"], "hmac": {"key": "h"}}]

    dto = await client.create_session(NAME, metadata={"wahaweb.user_id": "1"}, webhooks=webhooks)

    request = only_request(route)
    assert request.headers["X-Api-Key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert body_of(request) == {
        "name": NAME,
        "start": True,
        "config": {"metadata": {"wahaweb.user_id": "1"}, "webhooks": webhooks},
    }
    assert isinstance(dto, SessionDTO)
    assert (dto.name, dto.status) == (NAME, WahaStatus.STARTING)
    assert dto.config.metadata == {"wahaweb.user_id": "1"}


@pytest.mark.parametrize(
    ("kwargs", "expected_body"),
    [
        ({}, {"name": NAME, "start": True}),
        ({"start": False}, {"name": NAME, "start": False}),
        ({"metadata": {}, "webhooks": []}, {"name": NAME, "start": True}),
        ({"webhooks": [{"url": "u", "events": ["session.status"]}]},
         {"name": NAME, "start": True, "config": {"webhooks": [{"url": "u", "events": ["session.status"]}]}}),
    ],
)
async def test_create_session_always_sends_start_and_omits_empty_parts(client, router, kwargs, expected_body):
    route = router.post("/api/sessions").respond(201, json=session_dto())

    await client.create_session(NAME, **kwargs)

    assert body_of(only_request(route)) == expected_body


async def test_get_session_tolerates_nulls_and_unknown_keys(client, router):
    body = session_info(status="SCAN_QR_CODE", config=None, presence=None, engine="NOWEB", brandNewField={"x": 1})
    route = router.get(f"/api/sessions/{NAME}").respond(200, json=body)

    info = await client.get_session(NAME)

    assert only_request(route).headers["X-Api-Key"] == API_KEY
    assert info.status is WahaStatus.SCAN_QR_CODE
    assert info.me is None and info.config is None and info.presence is None
    assert info.engine_name == "NOWEB"
    assert info.timestamps == {"activity": 1700000000000}


async def test_update_session_puts_the_config(client, router):
    route = router.put(f"/api/sessions/{NAME}").respond(200, json=session_dto(status="WORKING"))
    config = {"metadata": {"wahaweb.user_id": "2"}, "webhooks": []}

    dto = await client.update_session(NAME, config)

    assert body_of(only_request(route)) == {"config": config}
    assert dto.status is WahaStatus.WORKING


@pytest.mark.parametrize(
    ("method_name", "action", "answer_status"),
    [
        ("start_session", "start", "STARTING"),
        ("stop_session", "stop", "STOPPED"),
        ("restart_session", "restart", "STARTING"),
        ("logout_session", "logout", "STARTING"),
    ],
)
async def test_session_actions_post_without_a_body(client, router, method_name, action, answer_status):
    route = router.post(f"/api/sessions/{NAME}/{action}").respond(201, json=session_dto(status=answer_status))

    dto = await getattr(client, method_name)(NAME)

    request = only_request(route)
    assert request.content == b""
    assert request.headers["X-Api-Key"] == API_KEY
    assert dto == SessionDTO(name=NAME, status=WahaStatus(answer_status), config={"metadata": {"wahaweb.user_id": "1"}})


async def test_an_action_answered_with_an_empty_body_reads_the_session_instead(client, router):
    router.post(f"/api/sessions/{NAME}/stop").respond(201)
    get = router.get(f"/api/sessions/{NAME}").respond(200, json=session_info(status="STOPPED"))

    dto = await client.stop_session(NAME)

    assert get.call_count == 1
    assert dto.status is WahaStatus.STOPPED


async def test_delete_session(client, router):
    route = router.delete(f"/api/sessions/{NAME}").respond(200)

    assert await client.delete_session(NAME) is None
    assert only_request(route).headers["X-Api-Key"] == API_KEY


async def test_get_me_parses_the_account(client, router):
    route = router.get(f"/api/sessions/{NAME}/me").respond(200, json={"id": "6281234567890@c.us", "pushName": "Ann"})

    me = await client.get_me(NAME)

    assert only_request(route).headers["X-Api-Key"] == API_KEY
    assert me == Me(id="6281234567890@c.us", pushName="Ann")
    assert me.phone == "6281234567890"


@pytest.mark.parametrize("answer", [httpx.Response(200, json=None), httpx.Response(200)])
async def test_get_me_is_none_before_working(client, router, answer):
    router.get(f"/api/sessions/{NAME}/me").mock(return_value=answer)

    assert await client.get_me(NAME) is None


async def test_get_qr_asks_for_base64_json_with_the_exact_accept_header(client, router):
    route = router.get(f"/api/{NAME}/auth/qr").respond(200, json={"mimetype": "image/png", "data": "iVBORw0KGgo="})

    qr = await client.get_qr(NAME)

    request = only_request(route)
    assert request.url.params["format"] == "image"
    assert request.headers.get_list("Accept") == ["application/json"]
    assert request.headers["X-Api-Key"] == API_KEY
    assert qr == QRImage(mimetype="image/png", data="iVBORw0KGgo=")
    assert qr.data_url == "data:image/png;base64,iVBORw0KGgo="


async def test_get_qr_wraps_png_bytes_when_a_proxy_changed_accept(client, router):
    router.get(f"/api/{NAME}/auth/qr").respond(200, content=b"\x89PNG\r\n", headers={"Content-Type": "image/png"})

    qr = await client.get_qr(NAME)

    assert qr == QRImage(mimetype="image/png", data="iVBORw0K")


async def test_get_qr_raw_returns_the_value(client, router):
    route = router.get(f"/api/{NAME}/auth/qr").respond(200, json={"value": "2@abc,def,ghi"})

    assert await client.get_qr_raw(NAME) == "2@abc,def,ghi"
    assert only_request(route).url.params["format"] == "raw"


async def test_request_pairing_code_posts_the_phone_number(client, router):
    route = router.post(f"/api/{NAME}/auth/request-code").respond(201, json={"code": "ABCD-EFGH"})

    code = await client.request_pairing_code(NAME, "6281234567890")

    request = only_request(route)
    assert body_of(request) == {"phoneNumber": "6281234567890"}
    assert request.headers["X-Api-Key"] == API_KEY
    assert code == "ABCD-EFGH"


async def test_server_version(client, router):
    body = {"version": "2026.7.1", "engine": "NOWEB", "tier": "PLUS", "browser": None,
            "platform": "linux/x64", "worker": {"id": None}}
    route = router.get("/api/server/version").respond(200, json=body)

    version = await client.server_version()

    assert only_request(route).headers["X-Api-Key"] == API_KEY
    assert version == ServerVersion(**body)
    assert version.allows_many_sessions is True


async def test_ping_sends_no_key_and_reports_up(client, router):
    route = router.get("/ping").respond(200, json={"message": "pong"})

    assert await client.ping() is True
    assert "X-Api-Key" not in only_request(route).headers


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(500), httpx.Response(404), httpx.ConnectError("refused")],
    ids=["500", "404", "connect-error"],
)
async def test_ping_reports_down_after_a_single_attempt(client, router, sleep, answer):
    route = router.get("/ping").mock(side_effect=[answer])

    assert await client.ping() is False
    assert route.call_count == 1
    assert sleep.waits == []


@pytest.mark.parametrize(
    ("call", "raw_path"),
    [
        (lambda c: c.get_session("a/b c?"), b"/api/sessions/a%2Fb%20c%3F"),
        (lambda c: c.start_session("../x"), b"/api/sessions/..%2Fx/start"),
        (lambda c: c.get_qr("a/b"), b"/api/a%2Fb/auth/qr?format=image"),
        (lambda c: c.request_pairing_code("a#b", "1"), b"/api/a%23b/auth/request-code"),
    ],
)
async def test_session_names_are_quoted_into_one_path_segment(client, router, call, raw_path):
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        path = request.url.raw_path
        if b"auth/qr" in path:
            return httpx.Response(200, json={"mimetype": "image/png", "data": "AA=="})
        if b"request-code" in path:
            return httpx.Response(201, json={"code": "ABCD-EFGH"})
        return httpx.Response(200, json=session_info("x"))

    router.route().mock(side_effect=answer)

    await call(client)

    assert seen == [raw_path]


async def test_timeouts_are_sent_with_every_request(router, sleep):
    route = router.get("/api/sessions").respond(200, json=[])
    async with WahaClient(BASE_URL, API_KEY, connect_timeout=1.5, read_timeout=7.0,
                          transport=httpx.MockTransport(router.async_handler), sleep=sleep) as waha:
        await waha.list_sessions()

    timeout = only_request(route).extensions["timeout"]
    assert timeout["connect"] == 1.5
    assert timeout["read"] == 7.0


async def test_default_timeouts_are_2s_connect_10s_read(client, router):
    route = router.get("/api/sessions").respond(200, json=[])

    await client.list_sessions()

    timeout = only_request(route).extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (2.0, 10.0)


async def test_base_url_with_a_path_prefix_is_kept(router, sleep):
    route = respx.Router(base_url="http://proxy.test/waha", assert_all_called=False)
    hit = route.get("/api/sessions").respond(200, json=[])
    async with WahaClient("http://proxy.test/waha", API_KEY, transport=httpx.MockTransport(route.async_handler)) as waha:
        await waha.list_sessions()

    assert only_request(hit).url.path == "/waha/api/sessions"


async def test_from_settings_uses_the_real_waha_when_configured(sleep):
    settings = Settings.from_env({"WAHA_URL": "http://waha.example:3000/", "WAHA_API_KEY": "real-key",
                                  "WAHA_CONNECT_TIMEOUT": "3", "WAHA_READ_TIMEOUT": "12"})
    router = respx.Router(base_url="http://waha.example:3000", assert_all_called=False)
    route = router.get("/api/sessions").respond(200, json=[])

    async with WahaClient.from_settings(settings, transport=httpx.MockTransport(router.async_handler)) as waha:
        await waha.list_sessions()

    request = only_request(route)
    assert request.headers["X-Api-Key"] == "real-key"
    assert (request.extensions["timeout"]["connect"], request.extensions["timeout"]["read"]) == (3.0, 12.0)
    assert waha.base_url == "http://waha.example:3000"


async def test_from_settings_targets_the_embedded_simulator_without_waha_url():
    settings = Settings.from_env({"WAHAWEB_SIM_API_KEY": "sim-key"})
    router = respx.Router(base_url=EMBEDDED_WAHA_URL, assert_all_called=False)
    route = router.get("/api/server/version").respond(
        200, json={"version": "2026.7.1", "engine": "WEBJS", "tier": "PLUS", "browser": "sim",
                   "platform": "sim", "worker": {"id": None}})

    async with WahaClient.from_settings(settings, transport=httpx.MockTransport(router.async_handler)) as waha:
        await waha.server_version()

    assert only_request(route).headers["X-Api-Key"] == "sim-key"


async def test_aclose_closes_the_pool(router):
    waha = WahaClient(BASE_URL, API_KEY, transport=httpx.MockTransport(router.async_handler))
    await waha.aclose()

    with pytest.raises(RuntimeError):
        await waha.list_sessions()


def test_repr_hides_the_key():
    waha = WahaClient("http://user:pw@waha.test", API_KEY)
    assert API_KEY not in repr(waha) and "pw" not in repr(waha)
