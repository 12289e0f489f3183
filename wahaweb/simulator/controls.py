"""The ``/_sim/`` controls: the phone's side, faults, and what the simulator saw.

None of this is WAHA: it lets tests and the embedded demo do what only a real phone or a
real network could (scan, unlink, ask for a passkey, break, drop connections).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import errors
from .engine import SessionEngine
from .faults import FaultInjector, RequestLog
from .routes import json_response, read_json
from .webhooks import WebhookDispatcher

CONTROL_PREFIX = "/_sim"
FAULT_KEYS = frozenset({"status", "count", "path_prefix", "latency_ms", "refuse_seconds"})


class ControlRoutes:
    def __init__(
        self, engine: SessionEngine, faults: FaultInjector, request_log: RequestLog, webhooks: WebhookDispatcher
    ) -> None:
        self.engine = engine
        self.faults = faults
        self.request_log = request_log
        self.webhooks = webhooks

    async def session(self, request: Request) -> Response:
        session = self.engine.get(request.path_params["name"])
        return json_response(
            {
                **session.info(),
                "account": session.account,
                "qr_number": session.qr_number,
                "qr_value": session.qr_value,
                "pairing_phone": session.pairing_phone,
                "status_data": session.status_data,
                "statuses": session.recent_statuses(),
            }
        )

    async def scan(self, request: Request) -> Response:
        body = await read_json(request) or {}
        if not isinstance(body, dict):
            raise errors.bad_request(['body must be a JSON object like {"phone", "pushName"}'])
        session = self.engine.scan(request.path_params["name"], body.get("phone"), body.get("pushName"))
        return json_response(session.info())

    async def passkey(self, request: Request) -> Response:
        body = await read_json(request) or {}
        if not isinstance(body, dict) or not isinstance(body.get("confirm", False), bool):
            raise errors.bad_request(['body must be a JSON object like {"confirm": false}'])
        session = self.engine.passkey(request.path_params["name"], body.get("confirm", False))
        return json_response(session.info())

    async def fail(self, request: Request) -> Response:
        return json_response(self.engine.fail(request.path_params["name"]).info())

    async def logout_phone(self, request: Request) -> Response:
        return json_response(self.engine.logout_phone(request.path_params["name"]).info())

    async def fault_control(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.faults.describe())
        if request.method == "DELETE":
            return json_response(self.faults.clear())
        body = await read_json(request)
        if not isinstance(body, dict) or not body or set(body) - FAULT_KEYS:
            raise errors.bad_request([f"body must be an object with some of: {', '.join(sorted(FAULT_KEYS))}"])
        try:
            described = self.faults.inject(**body)
        except (TypeError, ValueError) as exc:
            raise errors.bad_request([str(exc)]) from None
        return json_response(described)

    async def requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            cleared = len(self.request_log)
            self.request_log.clear()
            return json_response({"cleared": cleared})
        return json_response(self.request_log.entries())

    async def webhook_deliveries(self, request: Request) -> Response:
        return json_response(self.webhooks.deliveries)

    def routes(self) -> list[Route]:
        p = CONTROL_PREFIX
        return [
            Route(p + "/sessions/{name}", self.session, methods=["GET"]),
            Route(p + "/sessions/{name}/scan", self.scan, methods=["POST"]),
            Route(p + "/sessions/{name}/passkey", self.passkey, methods=["POST"]),
            Route(p + "/sessions/{name}/fail", self.fail, methods=["POST"]),
            Route(p + "/sessions/{name}/logout-phone", self.logout_phone, methods=["POST"]),
            Route(p + "/faults", self.fault_control, methods=["GET", "POST", "DELETE"]),
            Route(p + "/requests", self.requests, methods=["GET", "DELETE"]),
            Route(p + "/webhooks", self.webhook_deliveries, methods=["GET"]),
        ]
