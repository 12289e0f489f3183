"""wahaweb's own HTTP endpoints: health for probes, sign-in forms, WAHA's webhook.

The Starlette app built here is the app's `api_transformer`: Reflex mounts its own
routes beneath it, so these paths win and everything else falls through to Reflex.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wahaweb.api import auth, password, webhook
from wahaweb.api import metrics as prometheus
from wahaweb.core.errors import AuthError
from wahaweb.web.cookies import COOKIE_NAME


async def health(request: Request) -> JSONResponse:
    """200 when the database and WAHA both answer, 503 otherwise; which failed, and why,
    only for a signed-in administrator (a stranger learns nothing of the infrastructure)."""
    core = request.app.state.core
    result = await core.health()
    try:
        viewer = await core.accounts.authenticate(request.cookies.get(COOKIE_NAME))
    except AuthError:
        viewer = None
    details = viewer is not None and viewer.is_admin
    return JSONResponse(result.as_json(details=details), status_code=200 if result.ok else 503)


async def metrics(request: Request) -> JSONResponse:
    """Counts and session-creation timings for operators: signed-in admins only (cookie)."""
    core = request.app.state.core
    try:
        user = await core.accounts.authenticate(request.cookies.get(COOKIE_NAME))
    except AuthError as exc:
        return JSONResponse({"error": str(exc)}, status_code=401)
    if not user.is_admin:
        return JSONResponse({"error": "Only an administrator can read metrics."}, status_code=403)
    return JSONResponse((await core.metrics()).as_json())


def build_api() -> Starlette:
    return Starlette(routes=[Route("/api/health", health, methods=["GET"]),
        Route("/api/metrics", metrics, methods=["GET"]), *auth.routes, *password.routes, *webhook.routes, *prometheus.routes])
