"""Who is signed in, read from the HttpOnly session cookie on the server side.

The token lives only in that cookie and in backend code paths: Reflex keeps request
cookies out of the state it sends to the browser. Every handler re-authenticates with
the token (see `wahaweb.state.guard`), so a revoked token or a disabled account stops
working at once. Nothing here is callable by a client except through the guard.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

import reflex as rx
from reflex.state import BaseState

from wahaweb.core.accounts import hash_token
from wahaweb.core.errors import AuthError
from wahaweb.core.models import User
from wahaweb.core.sessions.access import Overview
from wahaweb.i18n import catalog, message_text, negotiate, supported
from wahaweb.state.context import app_core
from wahaweb.state.guard import public
from wahaweb.web.cookies import COOKIE_NAME, safe_next


def session_token(state: BaseState) -> str | None:
    """The raw session token from the request cookie (server side only)."""
    raw = state.router.headers.cookie or ""
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else None


async def cookie_user(state: BaseState) -> User | None:
    """The signed-in, active user of this connection's cookie, or None."""
    try:
        return await app_core().accounts.authenticate(session_token(state))
    except AuthError:
        return None


def root_of(state: BaseState) -> rx.State:
    """The tab's root state: Reflex's `State` (every app state derives from it), which holds
    the tab's links to shared states such as the feed (`_reflex_internal_links`)."""
    root = state._get_root_state()
    if not isinstance(root, rx.State):
        raise TypeError(f"{type(root).__name__} is not a Reflex app state")
    return root


def _page_states() -> list[type[BaseState]]:
    """AuthState and every state below it (dashboard, session page, admin, server panel)."""
    found: list[type[BaseState]] = []
    todo: list[type[BaseState]] = [AuthState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


def browser_language(state: rx.State) -> str:
    """The language the browser asks for (its Accept-Language header, read server side)."""
    return negotiate(state.router.headers.accept_language)


class AuthState(rx.State):
    """Base of every signed-in page state, and the holder of this tab's language.

    `lang` is per tab: the user's saved choice, else the browser's Accept-Language. Components
    read their words as `AuthState.t["key"]` (the catalogue of `lang`), so switching the
    language re-renders every page with the same element ids.
    """

    lang: str = "en"
    email: str = ""
    is_admin: bool = False
    signed_in: bool = False
    denied: bool = False
    #: The user's numeric id lives only on the server.
    _user_id: int | None = None

    @rx.var
    def t(self) -> dict[str, str]:
        """The words of this tab's language, by key (see `wahaweb/locale`)."""
        return catalog(self.lang)

    def _say(self, key: str, **params: object) -> str:
        """One string in this tab's language (for toasts and notices set by handlers)."""
        from wahaweb.i18n import text

        return text(self.lang, key, **params)

    async def _guard_user(self, *, admin: bool) -> tuple[User | None, object]:
        """For the guard: the cookie's user, or None and what to send back instead."""
        user = await cookie_user(self)
        if user is None:
            return None, await self._signed_out()
        if self._user_id is not None and (self._user_id != user.id or (self.is_admin and not user.is_admin)):
            # This tab's state was filled for someone else (a client token reused with another
            # cookie), or for this user as the admin he no longer is (the servers page's webhook
            # URLs, the users list): wipe it before anything runs as who the cookie says now.
            await self._wipe_tab()
        self.lang = supported(user.language) or browser_language(self)
        if admin and not user.is_admin:
            self.denied = True
            return None, rx.toast.error(self._say("error.admin_only"))
        self._user_id = user.id
        self.email = user.email
        self.is_admin = user.is_admin
        self.signed_in = True
        self.denied = False
        return user, None

    async def _wipe_tab(self) -> None:
        """Reset every page state of this tab and drop its links to a feed and to QR codes."""
        from wahaweb.state.feed import UserFeed, UserQr

        root = root_of(self)
        for cls in _page_states():
            (await root.get_state(cls)).reset()
        links = root._reflex_internal_links or {}
        for shared in (UserFeed, UserQr):  # the feed first: one lock order for every event (`_linked_qr`)
            if links.pop(shared.get_full_name(), None) is not None:
                state = await root.get_state(shared)
                state._linked_from.discard(root.rx_router_session.client_token)
        self._user_id = None

    async def _signed_out(self):
        """Forget the user here and send the browser to sign in, then back to this page.

        The tab's link to a feed is not touched here: it was only ever made for the cookie's
        own sign-in, whose feed gets no more pushes once that sign-in is revoked, and a tab
        that reconnects without the cookie is unlinked by `AccessMiddleware` before hydrating.
        """
        self._user_id = None
        self.email = ""
        self.is_admin = False
        self.signed_in = False
        path = safe_next(self.router.url.path + (f"?{self.router.url.query}" if self.router.url.query else ""))
        query = "" if path == "/" else "?" + urlencode({"next": path})
        return rx.redirect(f"/login{query}", replace=True)

    async def _open_page(self, user: User) -> Overview:
        """Every private page's load, once: link this tab to the user's feed (only now, after the
        cookie was checked), read the user's sessions and fill the feed. Called at the end of a
        load: what comes after it holds the feed's lock (see `_linked_feed`)."""
        feed = await self._linked_feed()
        page = await app_core().sessions.overview(user)
        feed._fill(page)
        return page

    async def _linked_feed(self):
        """This tab's sign-in's feed, linked: from here to the end of the event the tab holds the
        feed's Redis lock besides its own.

        Read the feed's data after this, not before: a push that comes meanwhile waits for the
        lock and lands after the fill (read first, a push landing between the read and the link
        was overwritten by the older read: a card went back, a deleted one came back, a first QR
        was dropped). But nothing slower than a database read may follow: an event that holds its
        locks past Reflex's lock expiry (10 s) cannot save, after the page already has its data,
        and the link is lost with the save (the page never gets another push). WAHA is asked in
        a background event (`ServerState.check`), never here.
        """
        from wahaweb.state.feed import UserFeed

        token = await app_core().feed_token(hash_token(session_token(self) or ""))
        feed = await self.get_state(UserFeed)
        if feed._linked_to != token:
            feed = await feed._link_to(token)
        return feed

    async def _linked_qr(self):
        """This tab's sign-in's QR codes (`UserQr`), linked: the session page's, after `_open_page`.

        Only ever after the feed (`_linked_feed`): every event that holds both takes the feed's
        lock first, then this one's, so two tabs of one sign-in never wait for each other in a
        circle. A QR push holds this one alone, never the feed's: it does not wait for a fill.
        """
        from wahaweb.state.feed import UserQr

        token = await app_core().qr_token(hash_token(session_token(self) or ""))
        qr = await self.get_state(UserQr)
        if qr._linked_to != token:
            qr = await qr._link_to(token)
        return qr


class AuthFormState(rx.State):
    """The sign-in and sign-up forms: messages come back as codes in the query string."""

    error: str = ""
    #: A success message (the password was reset), shown above the sign-in form.
    info: str = ""
    field: str = ""
    email_value: str = ""
    next_path: str = "/"
    #: /reset only: the one-time token from the link, and whether it still works.
    reset_token: str = ""
    reset_valid: bool = False

    @rx.event
    @public
    async def load(self):
        params = self.router.url.query_parameters
        lang = browser_language(self)
        (await self.get_state(AuthState)).lang = lang
        # Only known codes are shown: a crafted ?error= link cannot put words on our page.
        wait = params.get("wait", "")
        self.error = message_text(lang, params.get("error", ""), int(wait) if wait.isdigit() and len(wait) < 6 else None)
        self.info = catalog(lang).get("auth.reset_done", "") if params.get("done") == "reset" else ""
        self.field = params.get("field", "") if params.get("field", "") in ("email", "password", "new") else ""
        self.email_value = params.get("email", "")[:254]
        self.next_path = safe_next(params.get("next"))
        if self.router.url.path.rstrip("/") == "/reset":
            return await self._load_reset(lang, params.get("token", "")[:128])
        # Already signed in: nothing to do here.
        if await cookie_user(self) is None:
            return None
        return rx.redirect(self.next_path, replace=True)

    async def _load_reset(self, lang: str, token: str) -> None:
        """The reset page works signed in or out; a dead link says so before the form is filled."""
        self.reset_token = token
        self.reset_valid = await app_core().passwords.link_is_valid(token)
        if not self.reset_valid and not self.error:
            self.error = message_text(lang, "reset_link_invalid")
