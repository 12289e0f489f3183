"""The HTTP face: WAHA's routes and answers, plus the ``/_sim/`` controls.

Routes only translate HTTP to engine calls; WAHA's rules live in ``engine``. The app class
itself wraps every request in the fault and request-log layer, before Starlette's own
middleware, so a dropped connection really writes nothing (Starlette's error middleware
would otherwise answer 500 first).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors, qr
from .config import SimulatorConfig
from .engine import SessionEngine, SessionStatus
from .faults import REFUSED_STATUS, FaultInjector, RequestLog, drop_connection, fault_body
from .webhooks import WebhookDispatcher

CONTROL_PREFIX = "/_sim"
OPEN_PATHS = frozenset({"/ping"})
SESSION_ACTIONS = ("start", "stop", "restart", "logout")


class SimulatorApp(Starlette):
    """A Starlette app whose every HTTP request first passes the fault and log layer."""

    def __init__(
        self,
        *,
        api_key: str | None,
        faults: FaultInjector,
        request_log: RequestLog,
        **starlette_kwargs: Any,
    ):
        super().__init__(**starlette_kwargs)
        self.api_key = api_key or None
        self.faults = faults
        self.request_log = request_log

    def authorised(self, scope: dict[str, Any]) -> bool:
        if self.api_key is None:
            return True
        given = None
        for key, value in scope.get("headers") or ():
            if key == b"x-api-key":
                given = value.decode("latin-1")
                break
        if given is None:
            given = Request(scope).query_params.get("x-api-key")
        return given is not None and hmac.compare_digest(given.encode(), self.api_key.encode())

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            if not self.authorised(scope):
                await _json(errors.unauthorized().body, 401)(scope, receive, send)
                return
            await super().__call__(scope, receive, send)
            return
        await self._serve_waha_request(scope, receive, send)

    async def _serve_waha_request(self, scope, receive, send) -> None:
        method, path = scope["method"], scope["path"]
        started, clock = time.time(), time.perf_counter()
        if self.faults.refusing():
            self.request_log.record(method, path, REFUSED_STATUS, started, time.perf_counter() - clock)
            await drop_connection(scope, send)
            return
        answered: list[int] = []

        async def send_and_note(message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            await send(message)

        try:
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            injected = self.faults.take_status(path)
            if injected is not None:
                await _json(fault_body(injected), injected)(scope, receive, send_and_note)
            elif path not in OPEN_PATHS and not self.authorised(scope):
                await _json(errors.unauthorized().body, 401)(scope, receive, send_and_note)
            else:
                await super().__call__(scope, receive, send_and_note)
        finally:
            status = answered[0] if answered else 500
            self.request_log.record(method, path, status, started, time.perf_counter() - clock)


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


async def _read_json(request: Request, *, required: bool) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise errors.bad_request(["request body must be a JSON object"])
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request([f"request body is not valid JSON: {exc}"]) from None


def _config_problems(config: Any) -> list[str]:
    """The shape checks WAHA's validation pipe makes on ``SessionConfig`` that matter here."""
    if config is None:
        return []
    if not isinstance(config, dict):
        return ["config must be an object"]
    problems = []
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append("config.metadata must be an object")
    webhooks = config.get("webhooks")
    if webhooks is not None:
        if not isinstance(webhooks, list):
            return [*problems, "config.webhooks must be an array"]
        for index, webhook in enumerate(webhooks):
            where = f"config.webhooks.{index}"
            if not isinstance(webhook, dict):
                problems.append(f"{where} must be an object")
                continue
            if not isinstance(webhook.get("url"), str) or not webhook["url"]:
                problems.append(f"{where}.url must be a non-empty string")
            events = webhook.get("events")
            if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
                problems.append(f"{where}.events must be an array of strings")
            hmac_config = webhook.get("hmac")
            if hmac_config is not None and not (
                isinstance(hmac_config, dict) and isinstance(hmac_config.get("key") or "", str)
            ):
                problems.append(f"{where}.hmac must be an object with a string key")
    return problems


def build_app(
    config: SimulatorConfig,
    engine: SessionEngine,
    faults: FaultInjector,
    request_log: RequestLog,
    webhooks: WebhookDispatcher,
    lifespan: Any = None,
) -> SimulatorApp:
    # ------------------------------------------------------------------ WAHA
    async def ping(request: Request) -> Response:
        return _json({"message": "pong"})

    async def server_version(request: Request) -> Response:
        return _json(config.environment())

    async def list_sessions(request: Request) -> Response:
        include_stopped = request.query_params.get("all", "").lower() in ("true", "1")
        return _json([s.info() for s in engine.list(include_stopped)])

    async def create_session(request: Request) -> Response:
        body = await _read_json(request, required=True)
        if not isinstance(body, dict):
            raise errors.bad_request(["request body must be a JSON object"])
        problems = _config_problems(body.get("config"))
        name, start = body.get("name"), body.get("start", True)
        if name is not None and not isinstance(name, str):
            problems.append("name must be a string")
        if not isinstance(start, bool):
            problems.append("start must be a boolean value")
        if problems:
            raise errors.bad_request(problems)
        session = engine.create(name or None, body.get("config"), start)
        return _json(session.info(), 201)

    async def get_session(request: Request) -> Response:
        return _json(engine.get(request.path_params["session"]).info())

    async def update_session(request: Request) -> Response:
        body = await _read_json(request, required=True)
        if not isinstance(body, dict):
            raise errors.bad_request(["request body must be a JSON object"])
        problems = _config_problems(body.get("config"))
        if problems:
            raise errors.bad_request(problems)
        session = engine.update(request.path_params["session"], body.get("config"))
        return _json(session.info())

    async def delete_session(request: Request) -> Response:
        engine.delete(request.path_params["session"])
        return Response(status_code=200)

    async def session_action(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in SESSION_ACTIONS:
            raise HTTPException(404)
        session = getattr(engine, action)(request.path_params["session"])
        return _json(session.info(), 201)

    async def get_me(request: Request) -> Response:
        return _json(engine.get_running(request.path_params["session"]).me)

    async def get_qr(request: Request) -> Response:
        name = request.path_params["session"]
        fmt = request.query_params.get("format", "image")
        if fmt not in ("image", "raw"):
            raise errors.bad_request(["format must be one of the following values: image, raw"])
        session = engine.get_running(name)
        if session.status is not SessionStatus.SCAN_QR_CODE:
            waited = await engine.wait_for_status(
                name, [SessionStatus.SCAN_QR_CODE], config.scaled(config.qr_wait)
            )
            if waited is None or not waited.running:
                raise errors.session_not_running(name)
            session = waited
        value = session.qr_value
        if session.status is not SessionStatus.SCAN_QR_CODE or value is None:
            raise errors.wrong_status_for_qr(name, session.status.value)
        if fmt == "raw":
            return _json({"value": value})
        if request.headers.get("accept", "").strip() == "application/json":
            return _json({"mimetype": "image/png", "data": qr.render_png_base64(value)})
        return Response(qr.render_png(value), media_type="image/png")

    async def request_code(request: Request) -> Response:
        body = await _read_json(request, required=True)
        if not isinstance(body, dict) or not isinstance(body.get("phoneNumber"), str):
            raise errors.bad_request(["phoneNumber must be a string"])
        code = engine.request_code(request.path_params["session"], body["phoneNumber"])
        return _json({"code": code}, 201)

    # -------------------------------------------------------------- controls
    async def sim_session(request: Request) -> Response:
        session = engine.get(request.path_params["name"])
        return _json(
            {
                **session.info(),
                "account": session.account,
                "qr_number": session.qr_number,
                "qr_value": session.qr_value,
                "pairing_phone": session.pairing_phone,
                "statuses": session.recent_statuses(),
            }
        )

    async def sim_scan(request: Request) -> Response:
        body = await _read_json(request, required=False) or {}
        if not isinstance(body, dict):
            raise errors.bad_request(["body must be a JSON object like {\"phone\", \"pushName\"}"])
        session = engine.scan(request.path_params["name"], body.get("phone"), body.get("pushName"))
        return _json(session.info())

    async def sim_fail(request: Request) -> Response:
        return _json(engine.fail(request.path_params["name"]).info())

    async def sim_logout_phone(request: Request) -> Response:
        return _json(engine.logout_phone(request.path_params["name"]).info())

    async def sim_faults(request: Request) -> Response:
        if request.method == "GET":
            return _json(faults.describe())
        if request.method == "DELETE":
            return _json(faults.clear())
        body = await _read_json(request, required=True)
        allowed = {"status", "count", "path_prefix", "latency_ms", "refuse_seconds"}
        if not isinstance(body, dict) or not body or set(body) - allowed:
            raise errors.bad_request([f"body must be an object with some of: {', '.join(sorted(allowed))}"])
        try:
            described = faults.inject(**body)
        except (TypeError, ValueError) as exc:
            raise errors.bad_request([str(exc)]) from None
        return _json(described)

    async def sim_requests(request: Request) -> Response:
        if request.method == "DELETE":
            cleared = len(request_log)
            request_log.clear()
            return _json({"cleared": cleared})
        return _json(request_log.entries())

    async def sim_webhooks(request: Request) -> Response:
        return _json(webhooks.deliveries)

    # ------------------------------------------------------ error rendering
    async def simulator_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.SimulatorError)
        return _json(exc.body, exc.status_code)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = f"Cannot {request.method} {request.url.path}" if exc.status_code == 404 else exc.detail
        return _json(errors.nest_error(exc.status_code, message).body, exc.status_code)

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/api/server/version", server_version, methods=["GET"]),
        Route("/api/sessions", list_sessions, methods=["GET"]),
        Route("/api/sessions", create_session, methods=["POST"]),
        Route("/api/sessions/{session}", get_session, methods=["GET"]),
        Route("/api/sessions/{session}", update_session, methods=["PUT"]),
        Route("/api/sessions/{session}", delete_session, methods=["DELETE"]),
        Route("/api/sessions/{session}/me", get_me, methods=["GET"]),
        Route("/api/sessions/{session}/{action}", session_action, methods=["POST"]),
        Route("/api/{session}/auth/qr", get_qr, methods=["GET"]),
        Route("/api/{session}/auth/request-code", request_code, methods=["POST"]),
        Route(CONTROL_PREFIX + "/sessions/{name}", sim_session, methods=["GET"]),
        Route(CONTROL_PREFIX + "/sessions/{name}/scan", sim_scan, methods=["POST"]),
        Route(CONTROL_PREFIX + "/sessions/{name}/fail", sim_fail, methods=["POST"]),
        Route(CONTROL_PREFIX + "/sessions/{name}/logout-phone", sim_logout_phone, methods=["POST"]),
        Route(CONTROL_PREFIX + "/faults", sim_faults, methods=["GET", "POST", "DELETE"]),
        Route(CONTROL_PREFIX + "/requests", sim_requests, methods=["GET", "DELETE"]),
        Route(CONTROL_PREFIX + "/webhooks", sim_webhooks, methods=["GET"]),
    ]
    return SimulatorApp(
        api_key=config.api_key,
        faults=faults,
        request_log=request_log,
        routes=routes,
        exception_handlers={errors.SimulatorError: simulator_error, HTTPException: http_error},
        lifespan=lifespan,
    )
