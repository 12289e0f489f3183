"""The client against the simulator's two profiles: deadlines, empty answers, 400 lists, /ws.

What respx cannot show: a server that never answers, an empty 201, a websocket closed with
1008. Deadlines here are short and only ever a lower bound: a test waits for a hang to be
cut, never asserts that anything is fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from httpx_ws.transport import ASGIWebSocketTransport

from tests.waha.conftest import RecordingSleep
from wahaweb.simulator import Simulator, SimulatorConfig
from wahaweb.waha import (
    WahaBadRequest,
    WahaClient,
    WahaStatus,
    WahaTimeout,
    WahaUnauthorized,
    WahaUnavailable,
)

KEY = "sim-key"
Make = Callable[..., Awaitable[tuple[Simulator, WahaClient]]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    opened: list[tuple[Simulator, WahaClient]] = []

    async def build(*, client_key: str | None = KEY, **config) -> tuple[Simulator, WahaClient]:
        sim = Simulator(SimulatorConfig(**{"api_key": KEY, "qr_delay": 0.01, "time_scale": 20, **config}))
        client = WahaClient("http://waha.test", client_key, transport=httpx.ASGITransport(app=sim.app),
                            sleep=RecordingSleep(), deadline=2.0, request_code_deadline=0.2)
        opened.append((sim, client))
        return sim, client

    yield build
    for sim, client in reversed(opened):
        await client.aclose()
        await sim.aclose()


@contextlib.asynccontextmanager
async def socket_client(sim: Simulator, key: str | None = KEY) -> AsyncIterator[WahaClient]:
    """A client whose transport also speaks websocket to the in-process simulator.

    The transport runs a task group, which must close in the task that opened it: hence a
    context manager inside the test, not a fixture.
    """
    async with ASGIWebSocketTransport(app=sim.app) as transport:
        client = WahaClient("http://waha.test", key, transport=transport, sleep=RecordingSleep())
        try:
            yield client
        finally:
            await client.aclose()


async def test_a_hanging_request_code_is_a_clear_timeout_sent_once(make):
    sim, client = await make(profile="core-2024.10", qr_delay=30)
    await client.create_session("default")
    with pytest.raises(WahaTimeout) as caught:
        await client.request_pairing_code("default", "628123456789")
    assert "did not answer POST /api/default/auth/request-code within 0.2 s" in str(caught.value)
    assert isinstance(caught.value, WahaUnavailable)
    assert [r["path"] for r in sim.requests].count("/api/default/auth/request-code") == 1


async def test_the_general_deadline_cuts_any_call(make):
    sim, _ = await make()
    slow = WahaClient("http://waha.test", KEY, transport=httpx.ASGITransport(app=sim.app), deadline=0.1,
                      sleep=RecordingSleep())
    sim.inject(latency_ms=2000)
    with pytest.raises(WahaTimeout, match="did not answer GET /api/sessions within 0.1 s"):
        await slow.list_sessions()
    await slow.aclose()


async def test_me_is_none_until_working_then_the_account(make):
    sim, client = await make()
    await client.create_session("m")
    assert await client.get_me("m") is None
    await sim.wait_for_status("m", "SCAN_QR_CODE")
    sim.scan("m", phone="628777000111")
    assert (await client.get_me("m")).phone == "628777000111"


async def test_a_400_list_becomes_one_sentence(make):
    sim, client = await make()
    with pytest.raises(WahaBadRequest) as caught:
        await client.create_session("x" * 60, webhooks=[{"url": "not a url", "events": ["session.status"]}])
    error = caught.value
    assert error.problems == ["name must be shorter than or equal to 54 characters",
                              "config.webhooks.0.url must be a URL address"]
    assert str(error) == ("WAHA refused the request as invalid (400 Bad Request): name must be shorter than or "
                          "equal to 54 characters; config.webhooks.0.url must be a URL address.")
    assert sim.engine.sessions == {}


async def test_an_empty_create_answer_from_2024_10_is_read_as_stopped(make):
    sim, client = await make(profile="core-2024.10")
    dto = await client.create_session("default", start=False)
    assert (dto.name, dto.status) == ("default", WahaStatus.STOPPED)


async def test_the_client_never_sends_a_trailing_slash(make):
    sim, client = await make()
    await client.list_sessions()
    await client.create_session("t")
    await client.get_session("t")
    await client.stop_session("t")
    prefixed = WahaClient("http://waha.test/", KEY, transport=httpx.ASGITransport(app=sim.app))
    await prefixed.list_sessions()
    await prefixed.aclose()
    assert sim.requests and all(not r["path"].endswith("/") for r in sim.requests)


async def test_server_status_and_screenshot(make):
    sim, client = await make()
    status = await client.server_status()
    assert status.startTimestamp > 0 and status.uptime >= 0
    await client.create_session("s")
    await sim.wait_for_status("s", "SCAN_QR_CODE")
    shot = await client.screenshot("s")
    assert shot.mimetype == "image/png" and shot.data_url.startswith("data:image/png;base64,")


async def test_events_stream_yields_status_envelopes(make):
    sim, _ = await make()
    async with socket_client(sim) as client, client.events(session="*") as stream:
        await client.create_session("ev")
        await sim.wait_for_status("ev", "SCAN_QR_CODE")
        first, second = await anext(stream), await anext(stream)
    assert [first["payload"]["status"], second["payload"]["status"]] == ["STARTING", "SCAN_QR_CODE"]
    assert first["session"] == "ev" and first["event"] == "session.status"


async def test_events_with_a_wrong_key_is_unauthorized(make):
    sim, _ = await make()
    async with socket_client(sim, key="wrong") as client, client.events() as stream:
        with pytest.raises(WahaUnauthorized, match="1008"):
            await anext(stream)


async def test_events_end_when_the_server_shuts_down(make):
    sim, _ = await make()
    async with socket_client(sim) as client, client.events() as stream:
        sim.events.close_all()
        assert [event async for event in stream] == []


async def test_events_reach_an_in_process_server_behind_a_plain_asgi_transport(make):
    """The embedded simulator sits behind httpx.ASGITransport (no websocket): the socket still opens."""
    sim, client = await make()
    async with client.events() as stream:
        await client.create_session("inproc")
        first = await anext(stream)
    assert (first["session"], first["payload"]["status"]) == ("inproc", "STARTING")
