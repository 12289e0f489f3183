"""Who is signed in, read from the HttpOnly session cookie on the server side.

The token lives only in that cookie and in backend code paths: Reflex keeps request
cookies out of the state it sends to the browser. Every action re-authenticates with
the token, so a revoked token or a disabled account stops working at once.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

import reflex as rx

from wahaweb.api.auth import COOKIE_NAME, safe_next
from wahaweb.core.errors import AuthError
from wahaweb.core.models import User
from wahaweb.runtime import get_core


def session_token(state: rx.State) -> str | None:
    """The raw session token from the request cookie (server side only)."""
    raw = state.router.headers.cookie or ""
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else None


class AuthState(rx.State):
    """Base of every signed-in page state."""

    email: str = ""
    is_admin: bool = False
    signed_in: bool = False
    #: The user's numeric id lives only on the server.
    _user_id: int | None = None

    async def current_user(self) -> User:
        """The signed-in user, re-checked against the database (raises AuthError)."""
        user = await (await get_core()).accounts.authenticate(session_token(self))
        self._user_id = user.id
        self.email = user.email
        self.is_admin = user.is_admin
        self.signed_in = True
        return user

    def _forget(self) -> None:
        self._user_id = None
        self.email = ""
        self.is_admin = False
        self.signed_in = False

    def _to_login(self):
        """Forget the user here and send the browser to sign in, then back to this page."""
        self._forget()
        path = safe_next(self.router.url.path + (f"?{self.router.url.query}" if self.router.url.query else ""))
        query = "" if path == "/" else "?" + urlencode({"next": path})
        return rx.redirect(f"/login{query}", replace=True)

    async def refresh_feed(self, user: User) -> None:
        """Reload this user's live feed; every tab of the user sees the result."""
        from wahaweb.state.feed import UserFeed, feed_token

        feed = await self.get_state(UserFeed)
        if feed._linked_to != feed_token(user.id):
            feed = await feed._link_to(feed_token(user.id))
        await feed.fill(await get_core(), user)

    @rx.event
    async def require_user(self):
        """on_load of every private page: signed-out visitors go to /login?next=…"""
        try:
            user = await self.current_user()
        except AuthError:
            return self._to_login()
        await self.refresh_feed(user)


class AuthFormState(rx.State):
    """The sign-in and sign-up forms: messages come back in the query string."""

    error: str = ""
    field: str = ""
    email_value: str = ""
    next_path: str = "/"

    @rx.event
    async def load(self):
        params = self.router.url.query_parameters
        self.error = params.get("error", "")[:300]
        self.field = params.get("field", "")
        self.email_value = params.get("email", "")[:254]
        self.next_path = safe_next(params.get("next"))
        # Already signed in: nothing to do here.
        try:
            await (await get_core()).accounts.authenticate(session_token(self))
        except AuthError:
            return None
        return rx.redirect(self.next_path, replace=True)
