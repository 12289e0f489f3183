"""Every request the client sends must be one WAHA's published spec allows.

The client is driven against a router that records each request and answers
with a spec-valid body; then every recorded method + path must be an
operation of shared/waha/openapi.json, with its query and JSON body valid
against that operation (known spec gaps are patched in tests/openapi_spec.py,
e.g. WebhookConfig.events items typed object though WAHA takes strings).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import jsonschema
import pytest
import respx

from tests.openapi_spec import NO_BODY, load_spec, match_path, validate_request, validate_response
from tests.waha.conftest import API_KEY, BASE_URL, RecordingSleep, session_dto, session_info
from wahaweb.waha import WahaClient, WahaStatus

NAME = "session_7_1700000000_a1b2"
WEBHOOKS = [{
    "url": "https://wahaweb.test/api/waha/webhook",
    "events": ["session.status"],
    "hmac": {"key": "webhook-secret"},
    "retries": {"delaySeconds": 2, "attempts": 3, "policy": "exponential"},
}]

#: The CONTRACT.md table, as (method, spec path template).
CONTRACT_OPERATIONS = {
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/sessions/{session}"),
    ("PUT", "/api/sessions/{session}"),
    ("DELETE", "/api/sessions/{session}"),
    ("POST", "/api/sessions/{session}/start"),
    ("POST", "/api/sessions/{session}/stop"),
    ("POST", "/api/sessions/{session}/restart"),
    ("POST", "/api/sessions/{session}/logout"),
    ("GET", "/api/sessions/{session}/me"),
    ("GET", "/api/{session}/auth/qr"),
    ("POST", "/api/{session}/auth/request-code"),
    ("GET", "/api/server/version"),
    ("GET", "/ping"),
}
#: Beyond the table: what a dashboard also reads.
EXTRA_OPERATIONS = {
    ("GET", "/api/server/status"),
    ("GET", "/api/screenshot"),
}


@dataclass
class Sent:
    method: str
    template: str
    raw_path: str
    query: dict[str, str]
    headers: httpx.Headers
    body: object


def spec_valid_answer(method: str, template: str, query: dict[str, str]) -> httpx.Response:
    """A WAHA-shaped answer for the operation, itself checked against the spec."""
    answers = {
        ("GET", "/api/sessions"): (200, [session_info(NAME), session_info("other", "STOPPED", me=None, config=None)]),
        ("POST", "/api/sessions"): (201, session_dto(NAME)),
        ("GET", "/api/sessions/{session}"): (200, session_info(NAME)),
        ("PUT", "/api/sessions/{session}"): (200, session_dto(NAME, "WORKING")),
        ("DELETE", "/api/sessions/{session}"): (200, NO_BODY),
        ("POST", "/api/sessions/{session}/start"): (201, session_dto(NAME, "STARTING")),
        ("POST", "/api/sessions/{session}/stop"): (201, session_dto(NAME, "STOPPED")),
        ("POST", "/api/sessions/{session}/restart"): (201, session_dto(NAME, "STARTING")),
        ("POST", "/api/sessions/{session}/logout"): (201, session_dto(NAME, "STARTING")),
        ("GET", "/api/sessions/{session}/me"): (200, {"id": "6281234567890@c.us", "pushName": "Ann"}),
        ("POST", "/api/{session}/auth/request-code"): (201, {"code": "ABCD-EFGH"}),
        ("GET", "/api/server/version"): (200, {"version": "2026.7.1", "engine": "NOWEB", "tier": "PLUS",
                                              "browser": "none", "platform": "linux/x64",
                                              "worker": {"id": None}}),
        ("GET", "/ping"): (200, {"message": "pong"}),
        ("GET", "/api/server/status"): (200, {"startTimestamp": 1723788847247, "uptime": 3600000,
                                             "worker": {"id": "waha"}}),
        ("GET", "/api/screenshot"): (200, {"mimetype": "image/png", "data": "iVBORw0KGgo="}),
    }
    if template == "/api/{session}/auth/qr":
        body = {"value": "2@qr-text"} if query.get("format") == "raw" else {"mimetype": "image/png", "data": "iVBORw0KGgo="}
        status = 200
    else:
        status, body = answers[(method, template)]
    if body is NO_BODY:
        validate_response(template, method, status, None)
        return httpx.Response(status)
    validate_response(template, method, status, body)
    return httpx.Response(status, json=body)


@pytest.fixture
def sent() -> list[Sent]:
    return []


@pytest.fixture
async def contract_client(sent):
    def answer(request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        template = match_path(request.method, raw_path)  # raises for a path the spec lacks
        query = dict(request.url.params)
        body = json.loads(request.content) if request.content else NO_BODY
        sent.append(Sent(request.method, template, raw_path, query, request.headers, body))
        return spec_valid_answer(request.method, template, query)

    router = respx.Router(base_url=BASE_URL)
    router.route().mock(side_effect=answer)
    waha = WahaClient(BASE_URL, API_KEY, transport=httpx.MockTransport(router.async_handler), sleep=RecordingSleep())
    yield waha
    await waha.aclose()


CallFactory = Callable[[WahaClient], Awaitable[object]]
CLIENT_CALLS: dict[str, CallFactory] = {
    "list_sessions": lambda c: c.list_sessions(),
    "list_sessions(all=False)": lambda c: c.list_sessions(all=False),
    "create_session": lambda c: c.create_session(NAME, metadata={"wahaweb.user_id": "7"}, webhooks=WEBHOOKS),
    "create_session(start=False)": lambda c: c.create_session(NAME, start=False),
    "get_session": lambda c: c.get_session(NAME),
    "update_session": lambda c: c.update_session(NAME, {"metadata": {"wahaweb.user_id": "7"}, "webhooks": WEBHOOKS}),
    "start_session": lambda c: c.start_session(NAME),
    "stop_session": lambda c: c.stop_session(NAME),
    "restart_session": lambda c: c.restart_session(NAME),
    "logout_session": lambda c: c.logout_session(NAME),
    "delete_session": lambda c: c.delete_session(NAME),
    "get_me": lambda c: c.get_me(NAME),
    "get_qr": lambda c: c.get_qr(NAME),
    "get_qr_raw": lambda c: c.get_qr_raw(NAME),
    "request_pairing_code": lambda c: c.request_pairing_code(NAME, "6281234567890"),
    "server_version": lambda c: c.server_version(),
    "ping": lambda c: c.ping(),
    "server_status": lambda c: c.server_status(),
    "screenshot": lambda c: c.screenshot(NAME),
}


def _security_needs_key(method: str, template: str) -> bool:
    operation = load_spec()["paths"][template][method.lower()]
    return any("api_key" in requirement for requirement in operation.get("security", []))


@pytest.mark.parametrize("call_name", list(CLIENT_CALLS))
async def test_every_request_is_an_operation_of_the_spec(contract_client, sent, call_name):
    await CLIENT_CALLS[call_name](contract_client)

    assert sent, f"{call_name} sent no request"
    for request in sent:
        validate_request(request.template, request.method, request.body, query=request.query)
        assert not request.raw_path.endswith("/"), f"{request.raw_path}: WAHA paths never end with a slash"
        assert ("X-Api-Key" in request.headers) == _security_needs_key(request.method, request.template)
        if "X-Api-Key" in request.headers:
            assert request.headers["X-Api-Key"] == API_KEY


async def test_the_client_covers_every_operation_of_the_contract(contract_client, sent):
    for call in CLIENT_CALLS.values():
        await call(contract_client)

    hit = {(request.method, request.template) for request in sent}
    assert hit == CONTRACT_OPERATIONS | EXTRA_OPERATIONS
    assert all(op[1] in load_spec()["paths"] for op in CONTRACT_OPERATIONS)


async def test_the_qr_request_asks_for_the_base64_json(contract_client, sent):
    await contract_client.get_qr(NAME)

    (request,) = sent
    assert request.query == {"format": "image"}
    assert request.headers.get_list("Accept") == ["application/json"]


def test_the_status_enum_is_the_spec_enum():
    schemas = load_spec()["components"]["schemas"]
    for name in ("SessionInfo", "SessionDTO"):
        spec_statuses = [s for s in schemas[name]["properties"]["status"]["enum"] if s is not None]
        assert spec_statuses == [status.value for status in WahaStatus], name


# -- the oracle itself must be able to say no ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body", "query"),
    [
        ("/api/sessions", "post", {"name": NAME, "start": "yes"}, None),
        ("/api/sessions", "post", {"name": NAME, "config": {"webhooks": [{"events": ["session.status"]}]}}, None),
        ("/api/sessions", "post", {"name": NAME, "config": {"webhooks": [{"url": "u", "events": [{"e": 1}]}]}}, None),
        ("/api/sessions", "post", NO_BODY, None),
        ("/api/sessions/x/start", "post", {"unexpected": True}, None),
        ("/api/x/auth/qr", "get", NO_BODY, {"format": "png"}),
        ("/api/x/auth/qr", "get", NO_BODY, None),
        ("/api/sessions", "get", NO_BODY, {"all": "yes"}),
        ("/api/x/auth/request-code", "post", {"phone": "628"}, None),
        ("/api/sessions/x/pause", "post", NO_BODY, None),
    ],
    ids=["start-not-boolean", "webhook-without-url", "events-not-strings", "create-without-body",
         "body-where-none-declared", "qr-unknown-format", "qr-without-format", "all-not-boolean",
         "pairing-without-phoneNumber", "unknown-route"],
)
def test_the_spec_oracle_rejects_bad_requests(path, method, body, query):
    with pytest.raises(jsonschema.ValidationError):
        validate_request(path, method, body, query=query)


def test_webhook_events_as_strings_are_accepted_despite_the_spec_gap():
    validate_request("/api/sessions", "post", {"name": NAME, "start": True, "config": {"webhooks": WEBHOOKS}})
