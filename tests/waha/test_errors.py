"""How WAHA's 4xx answers become typed errors, and the idempotent outcomes that are not errors."""

from __future__ import annotations

import httpx
import pytest

from tests.waha.conftest import API_KEY, session_info
from wahaweb.waha import errors
from wahaweb.waha.errors import (
    BODY_EXCERPT_LIMIT,
    WahaAlreadyExists,
    WahaError,
    WahaHTTPError,
    WahaNotFound,
    WahaTimeout,
    WahaUnauthorized,
    WahaUnavailable,
    WahaUnprocessable,
    WahaWrongState,
)

NAME = "session_1_1700000000_ab12"


async def test_401_asks_the_operator_to_check_the_key(client, router, sleep):
    route = router.get("/api/sessions").respond(401, json={"message": "Unauthorized", "statusCode": 401})

    with pytest.raises(WahaUnauthorized) as caught:
        await client.list_sessions()

    assert "WAHA_API_KEY" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert caught.value.status_code == 401
    assert route.call_count == 1 and sleep.waits == []


async def test_404_names_the_missing_session(client, router):
    router.get(f"/api/sessions/{NAME}").respond(404, json={"message": "Session not found", "statusCode": 404})

    with pytest.raises(WahaNotFound) as caught:
        await client.get_session(NAME)

    assert NAME in str(caught.value)
    assert caught.value.session == NAME
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    ("body", "expected_message"),
    [
        ({"statusCode": 422, "message": "Name too long", "error": "Unprocessable Entity"}, "Name too long"),
        ({"statusCode": 422, "message": ["name must be shorter", "start must be a boolean"]},
         "name must be shorter; start must be a boolean"),
        ({"error": "WAHA Core support only 'default' session."}, "WAHA Core support only 'default' session."),
        ({"statusCode": 422, "exception": {"message": "Engine refused", "name": "Error"},
          "message": "Unprocessable Entity"}, "Engine refused"),
        ("plain text refusal", "plain text refusal"),
    ],
    ids=["message", "message-list", "error", "nested-exception", "plain-text"],
)
async def test_422_carries_waha_message_whatever_its_shape(client, router, body, expected_message):
    answer = httpx.Response(422, json=body) if isinstance(body, dict) else httpx.Response(422, text=body)
    router.post(f"/api/sessions/{NAME}/restart").mock(return_value=answer)

    with pytest.raises(WahaUnprocessable) as caught:
        await client.restart_session(NAME)

    assert type(caught.value) is WahaUnprocessable
    assert caught.value.waha_message == expected_message
    assert expected_message in str(caught.value)


async def test_422_already_exists_on_create(client, router, sleep):
    route = router.post("/api/sessions").respond(
        422, json={"statusCode": 422, "message": f"Session '{NAME}' already exists. Use PUT to update it.",
                   "error": "Unprocessable Entity"})

    with pytest.raises(WahaAlreadyExists) as caught:
        await client.create_session(NAME)

    assert isinstance(caught.value, WahaUnprocessable)
    assert "already exists" in caught.value.waha_message
    assert route.call_count == 1 and sleep.waits == []


async def test_a_retried_create_meeting_already_exists_returns_the_created_session(client, router, sleep):
    """A retried create meeting "already exists" met its own earlier attempt, not a clash."""
    router.post("/api/sessions").mock(side_effect=[
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.Response(422, json={"message": f"Session '{NAME}' already exists. Use PUT to update it."}),
    ])
    get = router.get(f"/api/sessions/{NAME}").respond(200, json=session_info(status="STARTING", me=None))

    dto = await client.create_session(NAME)

    assert (dto.name, dto.status) == (NAME, "STARTING")
    assert get.call_count == 1
    assert sleep.waits == [0.5]


async def test_a_timed_out_create_is_never_sent_twice_and_says_so(client, router, sleep):
    """It may have reached WAHA: the caller looks the session up (core adopts it), the client never re-POSTs."""
    post = router.post("/api/sessions").mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(WahaTimeout) as caught:
        await client.create_session(NAME)

    assert post.call_count == 1 and caught.value.attempts == 1 and sleep.waits == []
    assert isinstance(caught.value, WahaUnavailable), "core's handling of an unreachable WAHA still applies"
    assert "timed out on POST /api/sessions" in str(caught.value)


async def test_qr_in_the_wrong_state_is_wrong_state(client, router):
    router.get(f"/api/{NAME}/auth/qr").respond(
        422, json={"error": "Can not get QR code. Session status is not as expected.",
                   "session": NAME, "status": "FAILED", "expected": ["SCAN_QR_CODE"]})

    with pytest.raises(WahaWrongState) as caught:
        await client.get_qr(NAME)

    error = caught.value
    assert isinstance(error, WahaUnprocessable)
    assert error.current_status == "FAILED"
    assert error.expected == ["SCAN_QR_CODE"]
    assert error.waha_message == "Can not get QR code. Session status is not as expected."
    assert "FAILED" in str(error) and "SCAN_QR_CODE" in str(error)


@pytest.mark.parametrize("status", [400, 403, 405, 409, 413, 429])
async def test_other_4xx_are_http_errors_with_a_short_excerpt(client, router, sleep, status):
    route = router.get("/api/server/version").respond(status, text="x" * 5000)

    with pytest.raises(WahaHTTPError) as caught:
        await client.server_version()

    error = caught.value
    assert error.status_code == status
    assert 0 < len(error.body_excerpt) <= BODY_EXCERPT_LIMIT
    assert str(status) in str(error)
    assert route.call_count == 1 and sleep.waits == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"name": NAME, "status": "DANCING"}),
        httpx.Response(200, json=["not", "a", "session"]),
    ],
    ids=["html", "unknown-status", "wrong-shape"],
)
async def test_an_unreadable_answer_is_an_http_error_not_a_crash(client, router, answer):
    router.get(f"/api/sessions/{NAME}").mock(return_value=answer)

    with pytest.raises(WahaHTTPError) as caught:
        await client.get_session(NAME)

    assert "cannot read" in str(caught.value)
    assert caught.value.status_code == 200


async def test_a_pairing_answer_without_code_is_an_http_error(client, router):
    router.post(f"/api/{NAME}/auth/request-code").respond(201)

    with pytest.raises(WahaHTTPError):
        await client.request_pairing_code(NAME, "6281234567890")


# -- idempotent outcomes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"statusCode": 422, "message": f"Session '{NAME}' is already started."},
        {"error": "Session is already running"},
    ],
)
async def test_start_of_a_running_session_is_success(client, router, body):
    route = router.post(f"/api/sessions/{NAME}/start").respond(422, json=body)

    assert await client.start_session(NAME) is None
    assert route.call_count == 1


async def test_start_refused_for_another_reason_still_raises(client, router):
    router.post(f"/api/sessions/{NAME}/start").respond(422, json={"message": "Session is being deleted"})

    with pytest.raises(WahaUnprocessable, match="being deleted"):
        await client.start_session(NAME)


async def test_stop_of_a_missing_session_is_none(client, router):
    route = router.post(f"/api/sessions/{NAME}/stop").respond(404, json={"message": "not found"})

    assert await client.stop_session(NAME) is None
    assert route.call_count == 1


async def test_delete_of_a_missing_session_is_none(client, router):
    route = router.delete(f"/api/sessions/{NAME}").respond(404, json={"message": "not found"})

    assert await client.delete_session(NAME) is None
    assert route.call_count == 1


@pytest.mark.parametrize("method_name", ["restart_session", "logout_session", "start_session"])
async def test_other_actions_on_a_missing_session_raise_not_found(client, router, method_name):
    action = method_name.removesuffix("_session")
    router.post(f"/api/sessions/{NAME}/{action}").respond(404, json={"message": "not found"})

    with pytest.raises(WahaNotFound):
        await getattr(client, method_name)(NAME)


# -- pure helpers ----------------------------------------------------------------------------


def test_every_error_is_a_waha_error():
    for name in ("WahaUnauthorized", "WahaNotFound", "WahaUnprocessable", "WahaAlreadyExists",
                 "WahaWrongState", "WahaUnavailable", "WahaHTTPError"):
        assert issubclass(getattr(errors, name), WahaError), name


def test_excerpt_is_bounded_collapses_whitespace_and_scrubs_the_key():
    text = f"line one\n\n   line two {API_KEY} " + "y" * 1000

    result = errors.excerpt(text, API_KEY)

    assert len(result) == BODY_EXCERPT_LIMIT
    assert result.startswith("line one line two *** yyy")
    assert API_KEY not in result


def test_waha_message_falls_back_to_the_reason_phrase_for_an_empty_body():
    response = httpx.Response(422, request=httpx.Request("GET", "http://w/x"))
    assert errors.waha_message_of(response) == "Unprocessable Entity"
