"""Every websocket event passes here first (a Reflex middleware): the guard's backstop.

`wahaweb.state.guard` makes each handler declare who may call it. This middleware makes
that declaration mandatory at run time, for every event of every client:

- an event for a handler that declares nothing (a helper someone forgot to make
  `_private`, `setvar` on one of our states, a Reflex handler outside the short list
  a page needs) is dropped and logged;
- a hydrate (a tab connecting or reconnecting) is only answered with the state of the
  user whose cookie came with the connection: a tab linked to another user's feed is
  unlinked first, and a tab whose cookie no longer names the user its state was filled
  for (signed out, someone else signed in, a client token reused without the cookie, an
  admin who is one no more) has that state wiped. So a client token alone never grants data.
  The same holds for the tab's link to its sign-in's QR codes (`UserQr`).
- a socket that connects under a tab's token is checked the same way before it counts as
  connected (`guard_connections`): Reflex pushes a shared state's changes to every linked
  tab that has a socket, even one that never sends an event, so a leaked tab token with no
  cookie would otherwise hear that tab's feed and QR codes.
"""

from __future__ import annotations

import json
import logging
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

import reflex as rx
from reflex.middleware.middleware import Middleware
from reflex.state import BaseState, StateUpdate

from wahaweb.core.accounts import hash_token
from wahaweb.core.container import Core
from wahaweb.core.errors import AuthError
from wahaweb.state.auth import AuthState, cookie_user, root_of, session_token
from wahaweb.state.context import api_app, app_core
from wahaweb.state.feed import UserFeed, UserQr
from wahaweb.state.guard import HYDRATE_EVENTS, access_of
from wahaweb.web.cookies import COOKIE_NAME

logger = logging.getLogger("wahaweb.state.access")


#: Largest payload accepted for Reflex's own allow-listed handlers (ours check their arguments).
MAX_INTERNAL_PAYLOAD = 16 * 1024


def _size(payload: object) -> int:
    try:
        return len(json.dumps(payload, default=str))
    except (TypeError, ValueError):
        return MAX_INTERNAL_PAYLOAD + 1


class AccessMiddleware(Middleware):
    async def preprocess(self, app, state: BaseState, event) -> StateUpdate | None:
        _, _, handler = event.name.rpartition(".")
        try:
            state_cls = event.state_cls
        except (KeyError, ValueError):
            state_cls = None
        if state_cls is None or access_of(state_cls, handler) is None:
            logger.warning("refused event %r: not a handler clients may call", event.name[:200])
            return StateUpdate()
        if not state_cls.__module__.startswith("wahaweb.") and _size(event.payload) > MAX_INTERNAL_PAYLOAD:
            # Reflex's own handlers check nothing (handle_frontend_exception runs regexes over
            # whatever it gets): a page never sends them more than a few KiB.
            logger.warning("refused event %r: payload over %d bytes", event.name[:200], MAX_INTERNAL_PAYLOAD)
            return StateUpdate()
        if handler in HYDRATE_EVENTS:
            return await _only_the_cookies_user(state, event)
        return None


async def _only_the_cookies_user(state: BaseState, event) -> StateUpdate | None:
    """Before a hydrate: nothing of anyone but the cookie's sign-in may be in this tab's state."""
    root = root_of(state)  # the middleware is handed the root already
    user = await cookie_user(root)
    links = root._reflex_internal_links or {}
    auth = await root.get_state(AuthState)
    if user is None or (auth._user_id is not None and auth._user_id != user.id) or \
            (auth.is_admin and not user.is_admin) or \
            await _foreign_links(app_core(), links, hash_token(session_token(root) or "")):
        had_link = any(shared.get_full_name() in links for shared in _SHARED)
        await auth._wipe_tab()
        if had_link:
            logger.info("unlinked a tab from a feed its cookie does not grant")
            # The linked feed is still patched in for this event: hydrate again, unlinked.
            return StateUpdate(events=[event])
    return None


#: The shared states a tab links to its sign-in's tokens, in lock order (see `AuthState._linked_qr`).
_SHARED = (UserFeed, UserQr)


async def _foreign_links(core: Core, links: dict[str, str], token_hash: str) -> bool:
    """Whether the tab is linked to a feed or QR codes other than this sign-in's own."""
    for shared, token_of in ((UserFeed, core.feed_token), (UserQr, core.qr_token)):
        linked = links.get(shared.get_full_name())
        if linked is not None and linked != await token_of(token_hash):
            return True
    return False


def _cookie_token(environ: dict) -> str | None:
    """The sign-in cookie of the socket's own handshake (the state's headers are the previous one's)."""
    try:
        morsel = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel else None


async def _unlink_unless_granted(app: rx.App, client_token: str, cookie_token: str | None) -> None:
    """Before a socket is connected under `client_token`: drop the tab's links to a feed or QR codes
    that the connection's own cookie (not the one the state last saw) does not grant."""
    async with app.modify_state(rx.BaseStateToken(ident=client_token, cls=AuthState)) as state:
        root = root_of(state)
        links = root._reflex_internal_links or {}
        if not any(shared.get_full_name() in links for shared in _SHARED):
            return
        core = api_app(app).state.core
        try:
            user = await core.accounts.authenticate(cookie_token)
        except AuthError:
            user = None
        if user is None or await _foreign_links(core, links, hash_token(cookie_token or "")):
            await (await root.get_state(AuthState))._wipe_tab()
            logger.info("unlinked a reconnecting tab from a feed its cookie does not grant")


def guard_connections(app: rx.App) -> None:
    """A socket connected under a tab's token hears that tab's pushes before it sends any event (so
    before the hydrate check above): check the handshake's cookie against the tab's links first."""
    namespace = app.event_namespace
    if namespace is None:
        return
    original = namespace.on_connect

    async def on_connect(sid, environ, auth=None):
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        # A token whose socket is still up is not handed out again (Reflex issues a new one).
        if token and not await namespace._token_manager.is_token_connected(token):
            await _unlink_unless_granted(app, token, _cookie_token(environ))
        return await original(sid, environ, auth)

    namespace.on_connect = on_connect  # type: ignore[method-assign]  # wrapped: Reflex offers no connect hook
