"""The one path from WAHA to a page: the status engine's change stream, patched into feeds.

One listener per backend process. A status change patches one card in the owner's feed
and in every admin's (for /admin); a deleted session's card is dropped; a new QR code
goes to its owner only, into the sign-in's `UserQr` (not the feed: see `wahaweb.state.feed`).
Feeds are per sign-in (see `Core.feed_token`), and recipients are
the live sign-ins of active users (one query): a signed-out or disabled tab gets nothing. `app.modify_state` on the shared feed token updates every
open tab of that user, on any worker.

The lifespan builds the app's one Core (and, in demo mode, the embedded simulator
through `wahaweb.composition`), puts it where states and routes find it, starts the
engine and this worker's lifespan tasks (the open-pages gauge; with Redis, the keeper of
connected tabs' states, `wahaweb.state.keepalive`), and closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import reflex as rx
from reflex_base.registry import RegistrationContext

from wahaweb.composition import EmbeddedWaha, create_core
from wahaweb.core.container import Core
from wahaweb.core.live import PageUpdate
from wahaweb.core.live.notify import QR, REMOVED
from wahaweb.settings import get_settings
from wahaweb.state.access import guard_connections
from wahaweb.state.context import api_app
from wahaweb.state.feed import SessionCard, UserFeed, UserQr, qr_view, timeline_items
from wahaweb.state.hop_trace import install as install_hop_trace
from wahaweb.state.hop_trace import trace_path
from wahaweb.state.keepalive import start_keeping
from wahaweb.state.open_pages import start_sampling
from wahaweb.web.origins import origin_policy

logger = logging.getLogger("wahaweb.state.live")
#: Seconds a QR push may use the sign-ins read when its fetch began (a fetch takes milliseconds).
EARLY_FOR = 5.0


async def silence_feed(core: Core, user_id: int) -> None:
    """Empty a (disabled) user's feeds at once: every open tab of his loses its data."""
    app = RegistrationContext.get().app
    for token_hash in await core.accounts.sign_in_hashes(user_id):
        async with app.modify_state(rx.BaseStateToken(ident=await core.feed_token(token_hash), cls=UserFeed)) as root:
            (await root.get_state(UserFeed))._clear()
        async with app.modify_state(rx.BaseStateToken(ident=await core.qr_token(token_hash), cls=UserQr)) as root:
            (await root.get_state(UserQr))._clear()


def make_listener(app: rx.App, core: Core):
    """Every database read happens outside the feed's lock (`modify_state`). A QR goes to the
    sign-in's `UserQr` (its own token and lock): it never waits for a status patch or a page's fill,
    and its delta carries the QR state alone. The listener holds one lock at a time."""

    def feed_of(token: str):
        return app.modify_state(rx.BaseStateToken(ident=token, cls=UserFeed))

    def codes_of(token: str):
        return app.modify_state(rx.BaseStateToken(ident=token, cls=UserQr))

    #: Who to push a session's next QR to, read while WAHA answers the fetch (issue 16: the read was
    #: one more query in series between the drawn QR and the page), by session: (asked at, read).
    early: dict[str, tuple[float, asyncio.Future]] = {}

    def qr_fetch_started(session_id: str, user_id: int) -> None:
        if len(early) > 1000:  # fetches whose QR never came (the session left pairing): forget them
            early.clear()
        early[session_id] = (time.monotonic(), asyncio.ensure_future(
            core.accounts.live_sign_ins(user_id, with_admins=False)))

    async def qr_recipients(change: PageUpdate) -> list[tuple[int, bool, str]]:
        """The owner's live sign-ins, as read when this QR's fetch began (at most `EARLY_FOR` ago: a
        revocation since then misses this one push, as one committed during the push always could),
        else read now."""
        asked, read = early.pop(change.session_id, (0.0, None))
        if read is not None and time.monotonic() - asked <= EARLY_FOR:
            try:
                return await read
            except Exception:  # noqa: BLE001 - read again below
                logger.warning("reading the sign-ins of %s early failed; reading again", change.session_id)
        elif read is not None:
            read.cancel()
        return await core.accounts.live_sign_ins(change.user_id, with_admins=False)

    core.live.qr.on_fetch.append(qr_fetch_started)

    async def push_qr(change: PageUpdate, recipients) -> None:
        if change.qr is None:
            return
        card = qr_view(change.qr)
        for token_hash in [h for user_id, _, h in recipients if user_id == change.user_id]:
            async with codes_of(await core.qr_token(token_hash)) as root:
                (await root.get_state(UserQr))._set(change.session_id, card)

    async def push_status(change: PageUpdate, user_id: int, is_admin: bool, token_hash: str,
                          owner_email: str) -> None:
        own = user_id == change.user_id
        token = await core.feed_token(token_hash)
        async with feed_of(token) as root:
            feed = await root.get_state(UserFeed)
            if change.kind == REMOVED:
                feed._remove(change.session_id)
                left_pairing = wants_timeline = False
            else:
                assert change.session is not None
                note = (change.detail or "") if change.source == "server" else ""
                owner = owner_email if is_admin and not own else ""
                applied = feed._patch(SessionCard.of(change.session, owner, note, admin=is_admin), own=own,
                                      admin=is_admin)
                left_pairing = applied and change.session.status != "pairing"
                wants_timeline = change.session_id in feed.timelines
        if own and (change.kind == REMOVED or left_pairing):
            # Its QR goes too, as it did when it was in the feed (a stale push, not applied, leaves it),
            # under the QR's own lock, taken once the feed's is released: one lock at a time.
            async with codes_of(await core.qr_token(token_hash)) as root:
                (await root.get_state(UserQr))._drop(change.session_id)
        if wants_timeline:  # read with the lock released, then set
            items = await timeline_items(core, change.session_id, admin=is_admin)
            async with feed_of(token) as root:
                (await root.get_state(UserFeed))._set_timeline(change.session_id, items)

    async def on_change(change: PageUpdate) -> None:
        if change.kind == QR:
            await push_qr(change, await qr_recipients(change))
            return
        recipients = await core.accounts.live_sign_ins(change.user_id, with_admins=change.notify_admins)
        if change.kind != REMOVED and change.session is None:
            return
        others = any(is_admin and user_id != change.user_id for user_id, is_admin, _ in recipients)
        owner_email = await core.accounts.email_of(change.user_id) if others else ""
        await asyncio.gather(*(push_status(change, user_id, is_admin, token_hash, owner_email)
                               for user_id, is_admin, token_hash in recipients))

    return on_change


@contextlib.asynccontextmanager
async def lifespan(app: rx.App) -> AsyncIterator[None]:
    """The app's Core and status engine for the backend's lifetime; the websocket's Origin rule."""
    if app.sio is not None:
        app.sio.eio.cors_allowed_origins = origin_policy(get_settings().allowed_origins)
    guard_connections(app)  # a leaked tab token with no cookie hears nothing (see wahaweb.state.access)
    core = await create_core(get_settings())
    api = api_app(app)
    api.state.core = core  # routes read request.app.state.core; states read it through the app
    if isinstance(core.demo, EmbeddedWaha):
        core.demo.deliver_webhooks_to(api)
    if (hop_trace := trace_path()) is not None:  # benchmarks only (WAHAWEB_HOP_TRACE)
        install_hop_trace(hop_trace, app, core)
    core.live.notifier.add(make_listener(app, core))
    core.live.start()
    sampling = start_sampling(app, core.telemetry)
    keeping = start_keeping(app)  # Redis only: connected tabs' states outlive Reflex's expiry
    try:
        yield
    finally:
        for task in (sampling, keeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        core.telemetry.process_exiting()
        api.state.core = None
        await core.aclose()
