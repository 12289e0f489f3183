"""Password change and reset as plain HTML form posts, like sign-in (see `wahaweb.api.auth`).

- `POST /api/auth/password` (signed in: the cookie): current and new password. Every other
  sign-in of the user is revoked; this browser's stays. Back to `/account?done=1`.
- `POST /api/auth/reset` (a one-time link's token, no cookie needed): the new password.
  Every sign-in of the user is revoked, this browser's cookie dropped; on to `/login?done=reset`.

Same rules as the sign-in form: foreign Origins are refused, bodies are bounded, and
errors go back as message codes in the query, never as text.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wahaweb.api.auth import read_form
from wahaweb.api.messages import code_for
from wahaweb.core.errors import AuthError, CoreError, ValidationFailed
from wahaweb.web.cookies import COOKIE_NAME

#: Longest reset token accepted from a form (token_urlsafe(32) is 43 characters).
MAX_TOKEN_LENGTH = 128


def _redirect(path: str, query: dict[str, str]) -> RedirectResponse:
    response = RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_query(exc: CoreError) -> dict[str, str]:
    code, wait = code_for(exc)
    query = {"error": code}
    if wait is not None:
        query["wait"] = str(wait)
    if isinstance(exc, ValidationFailed) and exc.field in ("current_password", "password"):
        query["field"] = "current" if exc.field == "current_password" else "new"
    return query


async def change_password(request: Request) -> Response:
    form = await read_form(request)
    if isinstance(form, Response):
        return form
    core = request.app.state.core
    token = request.cookies.get(COOKIE_NAME)
    try:
        user = await core.accounts.authenticate(token)
    except AuthError as exc:
        return _redirect("/login", {"error": code_for(exc)[0], "next": "/account"})
    try:
        await core.passwords.change(user, form.get("current_password", ""), form.get("new_password", ""),
                                    keep_token=token)
    except CoreError as exc:
        return _redirect("/account", _error_query(exc))
    return _redirect("/account", {"done": "1"})


async def reset_password(request: Request) -> Response:
    form = await read_form(request)
    if isinstance(form, Response):
        return form
    core = request.app.state.core
    token = form.get("token", "")[:MAX_TOKEN_LENGTH]
    try:
        await core.passwords.reset(token, form.get("new_password", ""))
    except ValidationFailed as exc:
        # The token goes back to the form with the code: the link itself still works.
        return _redirect("/reset", {**_error_query(exc), "token": token})
    except CoreError as exc:
        return _redirect("/reset", _error_query(exc))
    response = _redirect("/login", {"done": "reset"})
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


routes = [
    Route("/api/auth/password", change_password, methods=["POST"]),
    Route("/api/auth/reset", reset_password, methods=["POST"]),
]
