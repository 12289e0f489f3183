"""`POST /api/waha/webhook`: WAHA's session.status events, verified, then into the status engine.

413 when the body is over 64 KiB (by Content-Length before reading, and by the bytes
actually read, so a lying or missing Content-Length does not get past), 401 when it is
unsigned or wrongly signed (nothing changes), 400 when it is not WAHA's envelope, 422 for
a status WAHA does not define, 200 otherwise (unknown sessions, other events, replays and
older events are ignored with 200 so WAHA does not retry them). Every answer is counted
by outcome (Prometheus).

`POST /api/waha/webhook/{token}`: the same, for a server that cannot sign (WAHA Core
2024.10): the per-server secret token in the path stands for the signature; 404 for an
unknown token (before the body is read), and its events can only name that server's sessions.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wahaweb.core.constants import MAX_WEBHOOK_BYTES, WEBHOOK_PATH
from wahaweb.core.live.webhook import WebhookResult


def _too_large() -> WebhookResult:
    return WebhookResult(413, "too_large", f"the body is larger than {MAX_WEBHOOK_BYTES // 1024} KiB")


async def waha_webhook(request: Request) -> JSONResponse:
    result = await _receive(request)
    request.app.state.core.telemetry.webhook_event(result.outcome)  # every answer, by outcome
    return JSONResponse(result.as_json(), status_code=result.status_code)


async def waha_webhook_by_token(request: Request) -> JSONResponse:
    """A server that cannot sign posts to its own secret URL; any other token is 404."""
    result = await _receive_unsigned(request)
    request.app.state.core.telemetry.webhook_event(result.outcome)
    return JSONResponse(result.as_json(), status_code=result.status_code)


async def _read_body(request: Request) -> bytes | WebhookResult:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return WebhookResult(400, "bad_request", "invalid Content-Length")
        if int(declared) > MAX_WEBHOOK_BYTES:
            return _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return _too_large()
    return bytes(body)


async def _receive(request: Request) -> WebhookResult:
    body = await _read_body(request)
    if isinstance(body, WebhookResult):
        return body
    core = request.app.state.core
    verified = await core.webhooks.verify(body, request.headers)
    if isinstance(verified, WebhookResult):
        return verified
    return WebhookResult(200, await core.live.apply_event(verified))


async def _receive_unsigned(request: Request) -> WebhookResult:
    core = request.app.state.core
    token = request.path_params["token"]
    server = await core.servers.by_webhook_token(token) if len(token) <= MAX_TOKEN else None
    if server is None:
        return WebhookResult(404, "unknown_token", "not found")
    body = await _read_body(request)
    if isinstance(body, WebhookResult):
        return body
    event = core.webhooks.read(body)
    if isinstance(event, WebhookResult):
        return event
    return WebhookResult(200, await core.live.apply_event(event, server.id))


#: Longer than any token we make (43 characters): refused without a database read.
MAX_TOKEN = 64

routes = [Route(WEBHOOK_PATH, waha_webhook, methods=["POST"]),
          Route(WEBHOOK_PATH + "/{token}", waha_webhook_by_token, methods=["POST"])]
