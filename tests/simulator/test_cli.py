"""``python -m wahaweb.simulator`` on a real port, driven by a real HTTP client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import API_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def standalone() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wahaweb.simulator", "--host", "127.0.0.1", "--port", str(port),
         "--api-key", API_KEY, "--qr-delay", "0.05", "--time-scale", "20", "--log-level", "warning"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a speed check
        while True:
            if process.poll() is not None:
                pytest.fail(f"simulator exited early: {process.stdout.read().decode(errors='replace')}")
            try:
                if httpx.get(base_url + "/ping", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("simulator did not answer /ping within 60 s")
            time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_cli_serves_ping_and_the_guarded_api(standalone):
    assert httpx.get(standalone + "/ping").json() == {"message": "pong"}
    assert httpx.get(standalone + "/api/sessions").status_code == 401
    with httpx.Client(base_url=standalone, headers={"X-Api-Key": API_KEY}, timeout=5) as client:
        assert client.get("/api/server/version").json()["version"] == "2026.7.1"
        assert client.post("/api/sessions", json={"name": "cli"}).status_code == 201
        qr = client.get("/api/cli/auth/qr", params={"format": "image"}, headers={"Accept": "application/json"})
        assert qr.status_code == 200 and qr.json()["mimetype"] == "image/png"
        assert client.post("/_sim/sessions/cli/scan").json()["status"] == "WORKING"


def test_cli_refusal_drops_the_connection_without_an_answer(standalone):
    with httpx.Client(base_url=standalone, headers={"X-Api-Key": API_KEY}, timeout=5) as control:
        assert control.post("/_sim/faults", json={"refuse_seconds": 0.5}).status_code == 200
        with httpx.Client(base_url=standalone, headers={"X-Api-Key": API_KEY}, timeout=5) as client:
            with pytest.raises(httpx.TransportError):
                client.get("/api/sessions")
        time.sleep(0.6)
        assert control.get("/api/sessions").status_code == 200
        statuses = [entry["status"] for entry in control.get("/_sim/requests").json()]
        assert 0 in statuses


def test_cli_help_documents_the_options():
    result = subprocess.run(
        [sys.executable, "-m", "wahaweb.simulator", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--api-key", "--qr-delay", "--time-scale", "--tier", "--engine",
                   "--profile", "--action-delay", "core-2024.10", "plus-2026.7"):
        assert option in result.stdout


def test_cli_serves_the_events_socket_and_express_paths_over_a_real_port(standalone):
    import asyncio

    from httpx_ws import WebSocketDisconnect, aconnect_ws

    async def scenario() -> tuple[dict, int]:
        async with httpx.AsyncClient(base_url=standalone, headers={"X-Api-Key": API_KEY}, timeout=5) as client:
            async with aconnect_ws("/ws", client, params={"session": "wsreal", "events": "session.status",
                                                          "x-api-key": API_KEY}) as socket:
                created = await client.post("/api/sessions/", json={"name": "wsreal", "start": True})
                assert created.status_code == 201
                event = await socket.receive_json()
        async with httpx.AsyncClient(base_url=standalone, timeout=5) as anonymous:
            async with aconnect_ws("/ws", anonymous, params={"x-api-key": "wrong"}) as refused:
                try:
                    await refused.receive_text()
                except WebSocketDisconnect as closed:
                    return event, closed.code
        raise AssertionError("a wrong key was not closed")

    event, code = asyncio.run(scenario())
    assert event["session"] == "wsreal" and event["payload"]["status"] == "STARTING"
    assert code == 1008
    preflight = httpx.options(standalone + "/api/sessions", headers={"Origin": "http://x.test",
                                                                     "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
