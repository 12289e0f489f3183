"""The one path from WAHA to a page: the status engine's change stream, patched into feeds.

One listener per backend process. A status change patches one card in the owner's feed
and in every admin's (for /admin); a deleted session's card is dropped; a new QR code
goes to its owner only. Feeds are per sign-in (see `Core.feed_token`), and recipients are
the live sign-ins of active users (one query): a signed-out or disabled tab gets nothing. `app.modify_state` on the shared feed token updates every
open tab of that user, on any worker.

The lifespan builds the app's one Core (and, in demo mode, the embedded simulator
through `wahaweb.composition`), puts it where states and routes find it, starts the
engine, and closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import reflex as rx
from reflex_base.registry import RegistrationContext

from wahaweb.api.origins import origin_policy
from wahaweb.composition import EmbeddedWaha, create_core
from wahaweb.core.container import Core
from wahaweb.core.live import LiveChange
from wahaweb.core.live.notify import QR, REMOVED
from wahaweb.settings import get_settings
from wahaweb.state.context import api_app
from wahaweb.state.feed import SessionCard, UserFeed, qr_card
from wahaweb.state.open_pages import start_sampling

logger = logging.getLogger("wahaweb.state.live")


async def silence_feed(core: Core, user_id: int) -> None:
    """Empty a (disabled) user's feeds at once: every open tab of his loses its data."""
    app = RegistrationContext.get().app
    for token_hash in await core.accounts.sign_in_hashes(user_id):
        async with app.modify_state(rx.BaseStateToken(ident=await core.feed_token(token_hash), cls=UserFeed)) as root:
            (await root.get_state(UserFeed))._clear()


def make_listener(app: rx.App, core: Core):
    async def on_change(change: LiveChange) -> None:
        admins = change.notify_admins and change.kind != QR
        recipients = await core.accounts.live_sign_ins(change.user_id, with_admins=admins)
        owner_email: str | None = None
        for user_id, is_admin, token_hash in recipients:
            own = user_id == change.user_id
            token = await core.feed_token(token_hash)
            async with app.modify_state(rx.BaseStateToken(ident=token, cls=UserFeed)) as root:
                feed = await root.get_state(UserFeed)
                if change.kind == QR:
                    if own and change.qr is not None:
                        feed._set_qr(change.session_id, qr_card(change.qr))
                    continue
                if change.kind == REMOVED:
                    feed._remove(change.session_id)
                    continue
                if change.session is None:
                    continue
                admin_view = is_admin and not any(c.id == change.session_id for c in feed.all_sessions)
                if admin_view and owner_email is None:
                    owner_email = await core.accounts.email_of(change.user_id)
                note = (change.detail or "") if change.source == "server" else ""
                feed._patch(SessionCard.of(change.session, owner_email or "", note), own=own, admin=is_admin)
                if change.session_id in feed.timelines:
                    await feed._load_timeline(core, change.session_id)

    return on_change


@contextlib.asynccontextmanager
async def lifespan(app: rx.App) -> AsyncIterator[None]:
    """The app's Core and status engine for the backend's lifetime; the websocket's Origin rule."""
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = origin_policy(get_settings().allowed_origins)
    core = await create_core(get_settings())
    api = api_app(app)
    api.state.core = core  # routes read request.app.state.core; states read it through the app
    if isinstance(core.demo, EmbeddedWaha):
        core.demo.deliver_webhooks_to(api)
    core.live.notifier.add(make_listener(app, core))
    core.live.start()
    sampling = start_sampling(app, core.telemetry)
    try:
        yield
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        core.telemetry.process_exiting()
        api.state.core = None
        await core.aclose()
