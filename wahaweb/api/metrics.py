"""`GET /metrics`: Prometheus' text exposition, for a scraper holding the metrics token.

Off unless the operator sets `WAHAWEB_METRICS_TOKEN` (404, as if the route did not exist:
nothing is exposed by default). With it, the scraper must send
`Authorization: Bearer <token>`: 401 without credentials, 403 with a wrong token
(compared in constant time). The admin's JSON summary stays at `/api/metrics`.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wahaweb.observability.metrics import CONTENT_TYPE

METRICS_PATH = "/metrics"


def authorize(header: str | None, token: str | None) -> int | None:
    """None when the scrape may proceed, else the status to answer (404, 401 or 403)."""
    if not token:
        return 404
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403
    return None


async def prometheus_metrics(request: Request) -> Response:
    core = request.app.state.core
    refusal = authorize(request.headers.get("authorization"), core.settings.metrics_token)
    if refusal == 404:
        return PlainTextResponse("Not Found", status_code=404)
    if refusal == 401:
        return PlainTextResponse("Unauthorized: send Authorization: Bearer <WAHAWEB_METRICS_TOKEN>",
                                 status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if refusal == 403:
        return PlainTextResponse("Forbidden: wrong metrics token", status_code=403)
    return Response(await core.telemetry.render(), media_type=CONTENT_TYPE)


routes = [Route(METRICS_PATH, prometheus_metrics, methods=["GET"])]
