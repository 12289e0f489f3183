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

from wahaweb.core.container import Core
from wahaweb.core.live import LiveChange, QrState, audience, close_live, live_for
from wahaweb.core.models import ROLE_ADMIN, User
from wahaweb.runtime import close_core, get_core
from wahaweb.state.feed import QrCard, UserFeed, feed_token

logger = logging.getLogger("wahaweb.state.live")
_background: set[asyncio.Task] = set()


def qr_card(qr: QrState) -> QrCard:
    return QrCard(data_url=qr.data_url, rotation=qr.rotation, max_rotations=qr.max_rotations,
                  expires_at_ms=qr.expires_at_ms)


async def _admin_ids(core: Core) -> list[int]:
    async with core.db.session() as s:
        rows = await s.execute(sa.select(User.id).where(User.role == ROLE_ADMIN, User.active.is_(True)))
        return [r[0] for r in rows]


def make_listener(app: rx.App, core: Core):
    async def on_change(change: LiveChange) -> None:
        recipients = audience(change, await _admin_ids(core) if change.notify_admins else ())
        for user_id in recipients:
            async with app.modify_state(rx.BaseStateToken(ident=feed_token(user_id), cls=UserFeed)) as root:
                feed = await root.get_state(UserFeed)
                if change.kind == "qr" and change.qr is not None:
                    feed.qr = {**feed.qr, change.session_id: qr_card(change.qr)}
                    continue
                user = await core.accounts.get_user(user_id)
                if user is not None and user.active:
                    await feed.fill(core, user)
                    if change.session_id in feed.timelines:
                        await feed.load_timeline(core, user, change.session_id)

    return on_change


def announce_later(core: Core, session_id: str, old_status: str | None = None) -> None:
    """Tell every page about a user action's result, after the calling handler released its state."""
    task = asyncio.ensure_future(live_for(core).announce(session_id, old_status=old_status))
    _background.add(task)
    task.add_done_callback(_background.discard)


@contextlib.asynccontextmanager
async def lifespan(app: rx.App) -> AsyncIterator[None]:
    """Core + status engine for the backend's lifetime."""
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
