"""SPEC requirement 3: 5xx and network errors retried twice (0.5 s, 1 s), 4xx never; all logged."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.waha.conftest import API_KEY, BASE_URL, RecordingSleep, session_info
from wahaweb.waha import WahaClient, WahaStatus
from wahaweb.waha.errors import WahaError, WahaHTTPError, WahaTimeout, WahaUnavailable

NAME = "session_1_1700000000_ab12"
NETWORK_ERRORS = [
    httpx.ConnectError("[Errno 111] Connection refused"),
    httpx.ConnectTimeout("timed out"),
    httpx.ReadTimeout("timed out"),
    httpx.ReadError("connection reset"),
    httpx.RemoteProtocolError("server disconnected without sending a response"),
    httpx.PoolTimeout("pool exhausted"),
]


async def test_503_makes_exactly_three_attempts_then_is_unavailable(client, router, sleep):
    route = router.get("/api/sessions").respond(503, text="Service Unavailable")

    with pytest.raises(WahaUnavailable) as caught:
        await client.list_sessions()

    assert route.call_count == 3
    assert sleep.waits == [0.5, 1.0]
    error = caught.value
    assert error.attempts == 3 and error.status_code == 503
    assert str(error).startswith(f"WAHA at {BASE_URL} is unavailable")
    assert API_KEY not in str(error)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_then_success_returns_the_answer(client, router, sleep, status):
    route = router.get(f"/api/sessions/{NAME}").mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=session_info())]
    )

    info = await client.get_session(NAME)

    assert info.status is WahaStatus.WORKING
    assert route.call_count == 2
    assert sleep.waits == [0.5]


@pytest.mark.parametrize("error", NETWORK_ERRORS, ids=lambda e: type(e).__name__)
async def test_network_errors_are_retried(client, router, sleep, error):
    route = router.get(f"/api/sessions/{NAME}").mock(side_effect=[error, httpx.Response(200, json=session_info())])

    await client.get_session(NAME)

    assert route.call_count == 2
    assert sleep.waits == [0.5]


async def test_three_connect_errors_are_unavailable_with_a_message_for_users(client, router, sleep):
    route = router.post("/api/sessions").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))

    with pytest.raises(WahaUnavailable) as caught:
        await client.create_session(NAME)

    assert route.call_count == 3
    assert sleep.waits == [0.5, 1.0]
    message = str(caught.value)
    assert message.startswith(f"WAHA at {BASE_URL} is unreachable: ConnectError")
    assert "Connection refused" in message
    assert caught.value.status_code is None and caught.value.attempts == 3
    assert API_KEY not in message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"message": "bad"}),
        (401, {"message": "Unauthorized", "statusCode": 401}),
        (403, {"message": "Forbidden"}),
        (404, {"message": "not found"}),
        (422, {"message": "nope"}),
        (429, {"message": "slow down"}),
    ],
)
async def test_4xx_is_never_retried(client, router, sleep, status, body):
    route = router.get(f"/api/sessions/{NAME}").respond(status, json=body)

    with pytest.raises(WahaError) as caught:
        await client.get_session(NAME)

    assert not isinstance(caught.value, WahaUnavailable)
    assert route.call_count == 1
    assert sleep.waits == []
    assert caught.value.attempts == 1


async def test_a_malformed_waha_url_fails_at_once(router, sleep):
    async with WahaClient("ftp://waha.test", API_KEY, sleep=sleep) as waha:
        with pytest.raises(WahaUnavailable, match="UnsupportedProtocol"):
            await waha.list_sessions()

    assert sleep.waits == []


async def test_the_schedule_is_configurable(router):
    sleep = RecordingSleep()
    route = router.get("/api/sessions").respond(502)
    async with WahaClient(BASE_URL, API_KEY, retry_waits=(0.1, 0.2, 0.4),
                          transport=httpx.MockTransport(router.async_handler), sleep=sleep) as waha:
        with pytest.raises(WahaUnavailable):
            await waha.list_sessions()

    assert route.call_count == 4
    assert sleep.waits == [0.1, 0.2, 0.4]


async def test_no_waits_means_no_retries(router):
    sleep = RecordingSleep()
    route = router.get("/api/sessions").respond(503)
    async with WahaClient(BASE_URL, API_KEY, retry_waits=(),
                          transport=httpx.MockTransport(router.async_handler), sleep=sleep) as waha:
        with pytest.raises(WahaUnavailable):
            await waha.list_sessions()

    assert route.call_count == 1 and sleep.waits == []


async def test_without_an_injected_sleep_the_client_really_waits(router):
    import time

    router.get("/api/sessions").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])
    async with WahaClient(BASE_URL, API_KEY, retry_waits=(0.05,),
                          transport=httpx.MockTransport(router.async_handler)) as waha:
        started = time.perf_counter()
        assert await waha.list_sessions() == []

    assert time.perf_counter() - started >= 0.05


async def test_each_retry_is_logged_with_attempt_method_path_and_cause(client, router, caplog):
    router.get(f"/api/sessions/{NAME}").mock(side_effect=[
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.Response(503),
        httpx.Response(200, json=session_info()),
    ])
    caplog.set_level(logging.WARNING, logger="wahaweb.waha")

    await client.get_session(NAME)

    retries = [r.getMessage() for r in caplog.records if r.name == "wahaweb.waha" and "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert f"GET /api/sessions/{NAME}" in retries[0] and "attempt 1 of 3" in retries[0]
    assert "ConnectError" in retries[0] and "0.50 s" in retries[0]
    assert "attempt 2 of 3" in retries[1] and "503" in retries[1] and "1.00 s" in retries[1]


async def test_each_request_duration_is_logged_at_debug(client, router, caplog):
    router.get("/api/sessions").respond(200, json=[])
    caplog.set_level(logging.DEBUG, logger="wahaweb.waha")

    await client.list_sessions()

    timings = [r for r in caplog.records if r.name == "wahaweb.waha" and r.levelno == logging.DEBUG]
    assert len(timings) == 1
    assert timings[0].getMessage().startswith("WAHA GET /api/sessions -> 200 in ")
    assert timings[0].getMessage().endswith(" ms")


# -- the key never leaks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"message": "Unauthorized", "statusCode": 401}),
        httpx.Response(400, json={"message": f"bad header X-Api-Key: {API_KEY}"}),
        httpx.Response(422, json={"message": f"echo {API_KEY}"}),
        httpx.Response(503, text=f"upstream said {API_KEY}"),
        httpx.Response(200, text=f"garbage {API_KEY}"),
        httpx.ConnectError(f"refused while sending {API_KEY}"),
    ],
    ids=["401", "400-echo", "422-echo", "503-echo", "unreadable-echo", "connect-error-echo"],
)
async def test_the_api_key_never_appears_in_errors_or_logs(client, router, caplog, answer):
    router.get(f"/api/sessions/{NAME}").mock(side_effect=lambda request: _raise_or_return(answer))
    caplog.set_level(logging.DEBUG, logger="wahaweb.waha")

    with pytest.raises(WahaError) as caught:
        await client.get_session(NAME)

    error = caught.value
    for text in (str(error), repr(error), error.body_excerpt or "", caplog.text):
        assert API_KEY not in text
    assert isinstance(error, (WahaHTTPError, WahaUnavailable)) or error.status_code in (401, 422)


async def test_credentials_in_the_base_url_stay_out_of_messages(router, sleep):
    router_with_auth = router
    router_with_auth.get("/api/sessions").respond(503)
    async with WahaClient("http://admin:s3cret@waha.test", API_KEY, sleep=sleep,
                          transport=httpx.MockTransport(router.async_handler)) as waha:
        with pytest.raises(WahaUnavailable) as caught:
            await waha.list_sessions()

    assert "s3cret" not in str(caught.value)
    assert "http://waha.test" in str(caught.value)


def _raise_or_return(answer):
    if isinstance(answer, Exception):
        raise answer
    return answer


AFTER_SENDING = [httpx.ReadTimeout("timed out"), httpx.WriteTimeout("timed out")]
NOT_IDEMPOTENT_CALLS = {
    "restart": ("POST", f"/api/sessions/{NAME}/restart", lambda c: c.restart_session(NAME)),
    "logout": ("POST", f"/api/sessions/{NAME}/logout", lambda c: c.logout_session(NAME)),
    "start": ("POST", f"/api/sessions/{NAME}/start", lambda c: c.start_session(NAME)),
    "request-code": ("POST", f"/api/{NAME}/auth/request-code", lambda c: c.request_pairing_code(NAME, "628123456789")),
    "update": ("PUT", f"/api/sessions/{NAME}", lambda c: c.update_session(NAME, {"metadata": {}})),
}


@pytest.mark.parametrize("error", AFTER_SENDING, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("call", list(NOT_IDEMPOTENT_CALLS))
async def test_a_timed_out_post_or_put_is_never_sent_again(client, router, sleep, call, error):
    method, path, invoke = NOT_IDEMPOTENT_CALLS[call]
    route = router.route(method=method, path=path).mock(side_effect=[error, httpx.Response(201, json={})])

    with pytest.raises(WahaTimeout) as caught:
        await invoke(client)

    assert route.call_count == 1 and sleep.waits == []
    assert caught.value.attempts == 1 and f"timed out on {method} {path}" in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("timed out")],
                         ids=lambda e: type(e).__name__)
async def test_a_post_that_never_left_is_retried(client, router, sleep, error):
    route = router.post(f"/api/sessions/{NAME}/restart").mock(
        side_effect=[error, httpx.Response(201, json={"name": NAME, "status": "STARTING"})]
    )

    assert (await client.restart_session(NAME)).status is WahaStatus.STARTING
    assert route.call_count == 2 and sleep.waits == [0.5]


@pytest.mark.parametrize("error", AFTER_SENDING, ids=lambda e: type(e).__name__)
async def test_a_timed_out_delete_is_retried_it_is_idempotent(client, router, sleep, error):
    route = router.delete(f"/api/sessions/{NAME}").mock(side_effect=[error, httpx.Response(200)])

    await client.delete_session(NAME)

    assert route.call_count == 2 and sleep.waits == [0.5]
