"""Sign-in, sign-up and sign-out as plain HTML form posts.

Why not Reflex events: the session token must live in an HttpOnly cookie that page
scripts cannot read, and only an HTTP response can set one. Reflex reads the cookie
server-side from the websocket handshake (it never sends request cookies to the
browser), so no token ever appears in page state or websocket frames.
Errors go back to the form as message codes in the query (`error`, `field`, `email`,
`wait`), never as text (see `wahaweb.api.messages`).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wahaweb.api.client_ip import client_ip, parse_networks
from wahaweb.api.messages import code_for
from wahaweb.core.errors import CoreError, ValidationFailed
from wahaweb.settings import get_settings
from wahaweb.web.cookies import COOKIE_NAME, safe_next

_FORM_LIMIT = 8 * 1024


def _same_origin(request: Request) -> bool:
    """Refuse cross-site form posts: the Origin (when sent) must name this host."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _back_to(form_path: str, *, exc: CoreError, field: str | None, email: str, next_path: str) -> RedirectResponse:
    code, wait = code_for(exc)
    query = {"error": code, "email": email}
    if wait is not None:
        query["wait"] = str(wait)
    if field:
        query["field"] = field
    if next_path != "/":
        query["next"] = next_path
    return RedirectResponse(f"{form_path}?{urlencode(query)}", status_code=303)


def _client_key(request: Request) -> str:
    proxies = parse_networks(get_settings().trusted_proxies)
    return client_ip(request.client.host if request.client else None, request.headers.get("x-forwarded-for"), proxies)


async def read_form(request: Request) -> dict[str, str] | Response:
    """A same-origin form post's fields, or the refusal to answer with (403 cross-site, 413 too large)."""
    if not _same_origin(request):
        return Response("Cross-site form posts are refused.", status_code=403)
    if int(request.headers.get("content-length") or 0) > _FORM_LIMIT:
        return Response("Form too large.", status_code=413)
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _signed_in_response(request: Request, token: str, max_age: int, next_path: str) -> RedirectResponse:
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE_NAME, token, max_age=max_age, httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _sign_in_or_up(request: Request, *, register: bool) -> Response:
    form_path = "/register" if register else "/login"
    form = await read_form(request)
    if isinstance(form, Response):
        return form
    email, password = form.get("email", "").strip(), form.get("password", "")
    next_path = safe_next(form.get("next"))
    core = request.app.state.core
    client = _client_key(request)
    try:
        if register:
            await core.accounts.register(email, password, client=client)
        signed_in = await core.accounts.sign_in(email, password, client=client)
    except ValidationFailed as exc:
        return _back_to(form_path, exc=exc, field=exc.field, email=email, next_path=next_path)
    except CoreError as exc:
        return _back_to(form_path, exc=exc, field=None, email=email, next_path=next_path)
    max_age = int(core.accounts.token_ttl.total_seconds())
    return _signed_in_response(request, signed_in.token, max_age, next_path)


async def login(request: Request) -> Response:
    return await _sign_in_or_up(request, register=False)


async def register(request: Request) -> Response:
    return await _sign_in_or_up(request, register=True)


async def logout(request: Request) -> Response:
    """Revoke the token server-side, then drop the cookie."""
    if not _same_origin(request):
        return Response("Cross-site form posts are refused.", status_code=403)
    core = request.app.state.core
    await core.accounts.sign_out(request.cookies.get(COOKIE_NAME))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


routes = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
]
