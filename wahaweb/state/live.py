"""Wires the core status engine to the pages: every change lands in the right users' feeds.

One listener per backend process. A status change goes to the owner's feed and to every
admin's (for /admin); a new QR code goes to its owner only. `app.modify_state` on the
shared feed token updates every open tab of that user, on any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import reflex as rx
import sqlalchemy as sa
from starlette.applications import Starlette

from wahaweb.api.origins import origin_policy
from wahaweb.core.container import Core
from wahaweb.core.live import LiveChange, QrState, audience, close_live, live_for
from wahaweb.core.models import ROLE_ADMIN, User
from wahaweb.runtime import close_core, get_core
from wahaweb.settings import get_settings
from wahaweb.state.feed import QrCard, UserFeed

logger = logging.getLogger("wahaweb.state.live")
_background: set[asyncio.Task] = set()


def qr_card(qr: QrState) -> QrCard:
    return QrCard(data_url=qr.data_url, rotation=qr.rotation, max_rotations=qr.max_rotations,
                  expires_at_ms=qr.expires_at_ms)


async def _admin_ids(core: Core) -> list[int]:
    async with core.db.session() as s:
        rows = await s.execute(sa.select(User.id).where(User.role == ROLE_ADMIN, User.active.is_(True)))
        return [r[0] for r in rows]


def _app() -> rx.App:
    from reflex_base.registry import RegistrationContext

    return RegistrationContext.get().app


async def silence_feed(core: Core, user_id: int) -> None:
    """Empty a (disabled) user's feed at once: every open tab of his loses its data."""
    async with _app().modify_state(rx.BaseStateToken(ident=await core.feed_token(user_id), cls=UserFeed)) as root:
        (await root.get_state(UserFeed))._clear()


def make_listener(app: rx.App, core: Core):
    async def on_change(change: LiveChange) -> None:
        recipients = audience(change, await _admin_ids(core) if change.notify_admins else ())
        for user_id in recipients:
            # Checked before anything is written: a disabled account gets no QR, no status.
            user = await core.accounts.get_user(user_id)
            if user is None or not user.active:
                continue
            token = await core.feed_token(user_id)
            async with app.modify_state(rx.BaseStateToken(ident=token, cls=UserFeed)) as root:
                feed = await root.get_state(UserFeed)
                if change.kind == "qr" and change.qr is not None:
                    feed.qr = {**feed.qr, change.session_id: qr_card(change.qr)}
                    continue
                await feed._fill(core, user)
                if change.session_id in feed.timelines:
                    await feed._load_timeline(core, user, change.session_id)

    return on_change


def announce_later(core: Core, session_id: str, old_status: str | None = None) -> None:
    """Tell every page about a user action's result, after the calling handler released its state."""
    task = asyncio.ensure_future(live_for(core).announce(session_id, old_status=old_status))
    _background.add(task)
    task.add_done_callback(_background.discard)


@contextlib.asynccontextmanager
async def lifespan(app: rx.App) -> AsyncIterator[None]:
    """Core + status engine for the backend's lifetime; the websocket's Origin rule."""
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = origin_policy(get_settings().allowed_origins)
    core = await get_core()
    if core.simulator is not None:
        from wahaweb.api import webhook  # imports runtime: only once the app is up

        core.simulator.webhooks.transport = httpx.ASGITransport(app=Starlette(routes=webhook.routes))
    engine = live_for(core)
    engine.notifier.add(make_listener(app, core))
    engine.start()
    try:
        yield
    finally:
        await close_live(core)
        await close_core()
