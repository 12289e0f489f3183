"""An ASGI middleware that gives each HTTP request an id, bound for its log lines.

The id is the caller's `X-Request-ID` when it sends a sane one (a proxy's), else a new
one; it is echoed in the answer's `X-Request-ID` so an operator can find the lines of one
request. Websocket traffic (Reflex's event channel) passes through untouched.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from wahaweb.observability.log_context import log_context

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(HEADER, b"").decode("latin-1")
        request_id = given if _SANE.match(given) else uuid.uuid4().hex[:16]

        async def send_with_id(message: Message) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, request_id.encode())]}
            await send(message)

        with log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)
