"""WAHA's HTTP routes: each translates one request into engine calls and WAHA's answer.

WAHA's rules live in ``engine``; what a release answers differently lives in the profile
(``config.behaviour``). Stop, restart, logout and PUT first wait ``config.action_delay``
through the injected ``sleep`` (real WAHA sleeps about 3 s there), so benchmarks see the
real cost and tests stay instant and deterministic.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors, validation
from .config import SimulatorConfig
from .engine import SessionEngine, SessionStatus
from .qr import QrRenderer
from .screenshot import screenshot_png

SESSION_ACTIONS = ("start", "stop", "restart", "logout")
DELAYED_ACTIONS = frozenset({"stop", "restart", "logout"})
Sleep = Callable[[float], Awaitable[None]]


def json_response(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def empty(status_code: int) -> Response:
    """An answer with no body at all (``Content-Length: 0``), as WAHA gives for ``me``/delete."""
    return Response(status_code=status_code)


async def read_json(request: Request) -> Any:
    """The JSON body, or None for an empty one; malformed JSON is Express's 400."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request([f"request body is not valid JSON: {exc}"]) from None


class WahaRoutes:
    def __init__(
        self,
        config: SimulatorConfig,
        engine: SessionEngine,
        renderer: QrRenderer,
        sleep: Sleep,
        started_at: float,
    ) -> None:
        self.config = config
        self.engine = engine
        self.renderer = renderer
        self.sleep = sleep
        self.started_at = started_at

    async def _action_delay(self) -> None:
        if self.config.action_delay > 0:
            await self.sleep(self.config.action_delay)

    # ----------------------------------------------------------------- server
    async def ping(self, request: Request) -> Response:
        return json_response({"message": "pong"})

    async def server_version(self, request: Request) -> Response:
        return json_response(self.config.environment())

    async def server_status(self, request: Request) -> Response:
        now = time.time()
        return json_response(
            {
                "startTimestamp": int(self.started_at * 1000),
                "uptime": int((now - self.started_at) * 1000),
                "worker": {"id": "waha-simulator"},
            }
        )

    async def health(self, request: Request) -> Response:
        if not self.config.behaviour.has_health:
            raise errors.plus_only("The feature")
        checks = {"engine": {"status": "up"}, "sessions": {"status": "up", "count": len(self.engine.sessions)}}
        return json_response({"status": "ok", "info": checks, "error": {}, "details": checks})

    # --------------------------------------------------------------- sessions
    async def list_sessions(self, request: Request) -> Response:
        include_stopped = validation.boolean_query("all", request.query_params.get("all")) or False
        return json_response(self.engine.list_items(include_stopped))

    async def create_session(self, request: Request) -> Response:
        behaviour = self.config.behaviour
        name, config, start = validation.create_request(await read_json(request), behaviour.start_defaults_to_true)
        name = name or behaviour.missing_name
        if not start and behaviour.create_without_start_is_empty:
            if name is not None:
                self.engine.check_tier_allows(name, creating=True)
            return empty(201)  # 2024.10 keeps nothing: the session then answers 404
        session = self.engine.create(name, config, start)
        return json_response(session.info(), 201)

    async def get_session(self, request: Request) -> Response:
        return json_response(self.engine.get(request.path_params["session"]).info())

    async def update_session(self, request: Request) -> Response:
        config = validation.update_request(await read_json(request))
        name = request.path_params["session"]
        self.engine.get(name)
        await self._action_delay()
        return json_response(self.engine.update(name, config).info())

    async def delete_session(self, request: Request) -> Response:
        self.engine.delete(request.path_params["session"])
        return empty(200)

    async def session_action(self, request: Request) -> Response:
        action, name = request.path_params["action"], request.path_params["session"]
        if action not in SESSION_ACTIONS:
            raise HTTPException(404)
        self.engine.get(name)
        if action in DELAYED_ACTIONS:
            await self._action_delay()
        session = getattr(self.engine, action)(name)
        return json_response(session.info(), 201)

    async def deprecated_start(self, request: Request) -> Response:
        """``POST /api/sessions/start {name, config}``: create or update, then start."""
        name, config, body = validation.named_request(await read_json(request), with_config=True)
        session = self.engine.sessions.get(name)
        if session is None:
            session = self.engine.create(name, config, True)
        else:
            if "config" in body:
                session.config = config
            session = self.engine.start(name)
        return json_response(session.dto(), 201)

    async def deprecated_stop(self, request: Request) -> Response:
        """``POST /api/sessions/stop {name, logout}``: stop, and forget the phone if asked."""
        name, _, body = validation.named_request(await read_json(request))
        self.engine.get(name)
        await self._action_delay()
        self.engine.stop(name)
        if body.get("logout"):
            self.engine.logout(name)
        return empty(201)

    async def deprecated_logout(self, request: Request) -> Response:
        """``POST /api/sessions/logout {name}``: stop, log out and delete."""
        name, _, _ = validation.named_request(await read_json(request))
        self.engine.get(name)
        await self._action_delay()
        self.engine.delete(name)
        return empty(201)

    async def get_me(self, request: Request) -> Response:
        me = self.engine.get_running(request.path_params["session"]).me
        return empty(200) if me is None else json_response(me)

    # ---------------------------------------------------------------- pairing
    async def get_qr(self, request: Request) -> Response:
        name = request.path_params["session"]
        fmt = request.query_params.get("format", "image")
        if fmt not in ("image", "raw"):
            raise errors.bad_request(["format must be one of the following values: image, raw"])
        session = self.engine.get_running(name)
        if session.status is not SessionStatus.SCAN_QR_CODE:
            waited = await self.engine.wait_for_status(
                name, [SessionStatus.SCAN_QR_CODE], self.config.scaled(self.config.qr_wait)
            )
            if waited is None or not waited.running:
                raise errors.session_not_running(name)
            session = waited
        value = session.qr_value
        if session.status is not SessionStatus.SCAN_QR_CODE or value is None:
            raise errors.wrong_status_for_qr(name, session.status.value)
        if fmt == "raw":
            return json_response({"value": value})
        if request.headers.get("accept", "").strip() == "application/json":
            return json_response({"mimetype": "image/png", "data": self.renderer.png_base64(value)})
        return Response(self.renderer.png(value), media_type="image/png")

    async def request_code(self, request: Request) -> Response:
        phone = validation.phone_request(await read_json(request))
        name = request.path_params["session"]
        session = self.engine.get_running(name)
        if session.status is SessionStatus.STARTING:
            if self.config.behaviour.pairing_in_starting_hangs:
                await self._hang(request)
                return empty(504)  # the client is gone; nobody reads this
            others = [s for s in SessionStatus if s is not SessionStatus.STARTING]
            waited = await self.engine.wait_for_status(name, others, self.config.scaled(self.config.qr_wait))
            if waited is None or not waited.running:
                raise errors.session_not_running(name)
        code = self.engine.request_code(name, phone)
        return json_response({"code": code}, 201)

    @staticmethod
    async def _hang(request: Request) -> None:
        """Never answer (WAHA 2024.10 in STARTING): wait until the client gives up and leaves."""
        while (await request.receive())["type"] != "http.disconnect":
            pass

    async def screenshot(self, request: Request) -> Response:
        session = self.engine.get_running(request.query_params.get("session", "default"))
        png = screenshot_png(session, self.renderer)
        if request.headers.get("accept", "").strip() == "application/json":
            return json_response({"mimetype": "image/png", "data": base64.b64encode(png).decode("ascii")})
        return Response(png, media_type="image/png")

    def routes(self) -> list[Route]:
        return [
            Route("/ping", self.ping, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/api/server/version", self.server_version, methods=["GET"]),
            Route("/api/server/status", self.server_status, methods=["GET"]),
            Route("/api/screenshot", self.screenshot, methods=["GET"]),
            Route("/api/sessions", self.list_sessions, methods=["GET"]),
            Route("/api/sessions", self.create_session, methods=["POST"]),
            Route("/api/sessions/start", self.deprecated_start, methods=["POST"]),
            Route("/api/sessions/stop", self.deprecated_stop, methods=["POST"]),
            Route("/api/sessions/logout", self.deprecated_logout, methods=["POST"]),
            Route("/api/sessions/{session}", self.get_session, methods=["GET"]),
            Route("/api/sessions/{session}", self.update_session, methods=["PUT"]),
            Route("/api/sessions/{session}", self.delete_session, methods=["DELETE"]),
            Route("/api/sessions/{session}/me", self.get_me, methods=["GET"]),
            Route("/api/sessions/{session}/{action}", self.session_action, methods=["POST"]),
            Route("/api/{session}/auth/qr", self.get_qr, methods=["GET"]),
            Route("/api/{session}/auth/request-code", self.request_code, methods=["POST"]),
        ]
