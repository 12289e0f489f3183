"""The ASGI face: what Express and NestJS do around WAHA's routes, then the routes.

The app class wraps every request before Starlette sees it, because these layers must act
even where Starlette would answer differently:

* a trailing slash is the same route (Express is not strict; Starlette would answer 307);
* an OPTIONS preflight is answered 204 with CORS headers and no key (``app.enableCors()``),
  and every WAHA answer carries ``Access-Control-Allow-Origin: *``;
* faults and the request log come first, so a dropped connection really writes nothing;
* the API key (header or ``?x-api-key=``) is checked unless the profile had no check;
* an unknown route or method is Nest's 404 ``Cannot <METHOD> <path>``, never 405;
* ``/ws`` is the events websocket (see ``events.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from . import errors
from .controls import CONTROL_PREFIX
from .events import EventHub, serve_socket
from .faults import (
    REFUSED_STATUS,
    FaultInjector,
    RequestLog,
    drop_connection,
    fault_body,
)
from .routes import json_response

OPEN_PATHS = frozenset({"/ping"})
EVENTS_SOCKET_PATH = "/ws"
CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"


def strip_trailing_slash(scope: dict[str, Any]) -> dict[str, Any]:
    path: str = scope["path"]
    if len(path) > 1 and path.endswith("/"):
        trimmed = path[:-1]
        return {**scope, "path": trimmed, "raw_path": trimmed.encode("latin-1")}
    return scope


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class SimulatorApp(Starlette):
    """A Starlette app whose every request first passes the Express/Nest layers above."""

    def __init__(
        self,
        *,
        api_key: str | None,
        check_waha_key: bool,
        faults: FaultInjector,
        request_log: RequestLog,
        events: EventHub,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **starlette_kwargs: Any,
    ):
        super().__init__(**starlette_kwargs)
        self.sleep = sleep
        """Injected latency waits through it, like every other simulated wait."""
        self.router.redirect_slashes = False
        self.api_key = api_key or None
        self.check_waha_key = check_waha_key and self.api_key is not None
        """False on profiles without an API-key check (WAHA 2024.10): every key passes."""
        self.faults = faults
        self.request_log = request_log
        self.events = events

    def authorised(self, scope: dict[str, Any]) -> bool:
        if self.api_key is None:
            return True
        given = _header(scope, b"x-api-key")
        if given is None:
            given = QueryParams(scope.get("query_string", b"")).get("x-api-key")
        return given is not None and hmac.compare_digest(given.encode(), self.api_key.encode())

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        if scope["type"] == "lifespan":
            await super().__call__(scope, receive, send)
            return
        scope = strip_trailing_slash(scope)
        if scope["type"] == "websocket":
            await self._serve_websocket(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            if not self.authorised(scope):
                await json_response(errors.unauthorized().body, 401)(scope, receive, send)
                return
            await super().__call__(scope, receive, send)
            return
        await self._serve_waha_request(scope, receive, send)

    async def _serve_websocket(self, scope, receive, send) -> None:
        if scope["path"] != EVENTS_SOCKET_PATH:
            await receive()
            await send({"type": "websocket.close", "code": 1000})
            return
        authorised = not self.check_waha_key or self.authorised(scope)
        await serve_socket(scope, receive, send, self.events, authorised=authorised)

    async def _serve_waha_request(self, scope, receive, send) -> None:
        method, path = scope["method"], scope["path"]
        started, clock = time.time(), time.perf_counter()
        if self.faults.refusing():
            self.request_log.record(method, path, REFUSED_STATUS, started, time.perf_counter() - clock)
            await drop_connection(scope, send)
            return
        answered: list[int] = []

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
                headers = list(message.get("headers") or [])
                headers.append((b"access-control-allow-origin", b"*"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if self.faults.latency_ms:
                await self.sleep(self.faults.latency_ms / 1000)
            injected = self.faults.take_status(path)
            if injected is not None:
                await json_response(fault_body(injected), injected)(scope, receive, send_with_cors)
            elif method == "OPTIONS":
                await self._preflight(scope)(scope, receive, send_with_cors)
            elif path not in OPEN_PATHS and self.check_waha_key and not self.authorised(scope):
                await json_response(errors.unauthorized().body, 401)(scope, receive, send_with_cors)
            else:
                await super().__call__(scope, receive, send_with_cors)
        finally:
            status = answered[0] if answered else REFUSED_STATUS
            self.request_log.record(method, path, status, started, time.perf_counter() - clock)

    @staticmethod
    def _preflight(scope: dict[str, Any]) -> Response:
        """What the ``cors`` package answers with its defaults (``preflightContinue: false``)."""
        headers = {"Access-Control-Allow-Methods": CORS_METHODS, "Vary": "Access-Control-Request-Headers"}
        requested = _header(scope, b"access-control-request-headers")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        return Response(status_code=204, headers=headers)


def build_app(
    *,
    api_key: str | None,
    check_waha_key: bool,
    routes: list[Any],
    faults: FaultInjector,
    request_log: RequestLog,
    events: EventHub,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    lifespan: Any = None,
) -> SimulatorApp:
    async def simulator_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.SimulatorError)
        return json_response(exc.body, exc.status_code)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Nest answers an unknown route *or method* 404 ``Cannot <METHOD> <path>``."""
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            message = f"Cannot {request.method} {request.url.path}"
            return json_response(errors.nest_error(404, message).body, 404)
        return json_response(errors.nest_error(exc.status_code, exc.detail).body, exc.status_code)

    return SimulatorApp(
        api_key=api_key,
        check_waha_key=check_waha_key,
        faults=faults,
        request_log=request_log,
        events=events,
        sleep=sleep,
        routes=routes,
        exception_handlers={errors.SimulatorError: simulator_error, HTTPException: http_error},
        lifespan=lifespan,
    )
